"""The Classic API's browse pages: a list's members, and everything stored about one contact."""

from __future__ import annotations

from target_autopilot.sandbox.classic.records import Contact
from target_autopilot.sandbox.classic.store import Transaction
from target_autopilot.sandbox.markup import esc, link, page_of, search_form, segment, some_of, table
from target_autopilot.sandbox.runs import Change

NAME_FIELDS = ("FirstName", "LastName")


def list_rows(tx: Transaction, account: str, base: str) -> list[list[str]]:
    """The account's lists for the overview: title (a link), id, member count."""
    return [
        [
            link(f"{base}/lists/{segment(item.list_id)}", item.title),
            f"<code>{esc(item.list_id)}</code>",
            str(tx.count_members(account, item.list_id)),
        ]
        for item in tx.lists(account)
    ]


def members_page(
    tx: Transaction, account: str, base: str, list_id: str, query: str, number: int
) -> tuple[str, str] | None:
    """(title, body) of a list's members page, searchable by email; None for an unknown list."""
    found = tx.get_list(account, list_id)
    if found is None:
        return None
    members = tx.members_after(account, list_id, None, tx.count_members(account, list_id)) or []
    matching = [contact for contact in members if query.lower() in contact.email.lower()]
    shown, pager = page_of(matching, number, query)
    names = list(tx.custom_fields(account))
    rows = [
        [link(f"{base}/contacts/{segment(c.contact_id)}", c.email)]
        + [esc(c.fields.get(name, "")) for name in NAME_FIELDS]
        + [esc(c.custom.get(name, "")) for name in names]
        for c in shown
    ]
    headers = ["Email", *NAME_FIELDS, *names]
    body = search_form(query) + table(headers, rows, "No members.", "members") + pager
    return f"List {found.title}", body


def contacts_section(tx: Transaction, account: str, base: str, query: str, number: int) -> str:
    """Every contact of the account, in a list or not, searchable by email, each a link to its page."""
    contacts = tx.all_contacts(account)
    matching = [contact for contact in contacts if query.lower() in contact.email.lower()]
    shown, pager = page_of(matching, number, query)
    lists = tx.lists_of(account, [c.contact_id for c in shown])
    titles = {item.list_id: item.title for item in tx.lists(account)}
    rows = [
        [link(f"{base}/contacts/{segment(c.contact_id)}", c.email)]
        + [esc(c.fields.get(name, "")) for name in NAME_FIELDS]
        + [esc(", ".join(titles[list_id] for list_id in lists[c.contact_id])) or "none"]
        for c in shown
    ]
    headers = ["Email", *NAME_FIELDS, "Lists"]
    body = table(headers, rows, "No contacts.", "classic-contacts") + pager
    return f"<h2>Classic: {len(contacts)} contacts</h2>" + body


def change_row(tx: Transaction, account: str, change: Change) -> list[str]:
    """A run's change to a list: its title, who joined, who left (by email; a deleted contact by id)."""
    found = tx.get_list(account, change.key)

    def emails(ids: list[str]) -> list[str]:
        contacts = [(contact_id, tx.find_contact(account, contact_id)) for contact_id in ids]
        return sorted(contact.email if contact else contact_id for contact_id, contact in contacts)

    title = f"list {found.title if found else change.key}"
    return [esc(title), some_of(emails(change.joined)), some_of(emails(change.left))]


def contact_page(tx: Transaction, account: str, base: str, contact_id: str) -> tuple[str, str] | None:
    """(title, body) of a contact's page: fields, custom fields, lists; None for an unknown id."""
    contact = tx.find_contact(account, contact_id)
    if contact is None:
        return None
    lists = [
        tx.get_list(account, list_id) for list_id in tx.lists_of(account, [contact.contact_id])[contact_id]
    ]
    list_links = [link(f"{base}/lists/{segment(item.list_id)}", item.title) for item in lists if item]
    rows = [*_field_rows(contact), ["Lists", ", ".join(list_links) or "none"]]
    return f"Contact {contact.email}", table(["Field", "Value"], rows, "", "fields")


def _field_rows(contact: Contact) -> list[list[str]]:
    rows = [["Email", esc(contact.email)], ["contact_id", f"<code>{esc(contact.contact_id)}</code>"]]
    rows += [[esc(name), esc(value)] for name, value in contact.fields.items()]
    rows += [[f"{esc(name)} (custom)", esc(value)] for name, value in contact.custom.items()]
    rows += [["Unsubscribed", esc(contact.unsubscribed)], ["Created", esc(contact.created_at)]]
    return [*rows, ["Updated", esc(contact.updated_at)]]
