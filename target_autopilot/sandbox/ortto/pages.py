"""The Ortto API's browse pages: a tag's holders, and everything stored about one person."""

from __future__ import annotations

from target_autopilot.sandbox.markup import esc, link, page_of, search_form, segment, some_of, table
from target_autopilot.sandbox.ortto.fields import EMAIL, THOUSANDTHS
from target_autopilot.sandbox.ortto.store import OrttoAccount, Person
from target_autopilot.sandbox.runs import Change

NAME_FIELDS = ("str::first", "str::last")
# Ortto's display names of its built-in fields, as its app shows them.
BUILT_IN_NAMES = {
    "str::first": "First name", "str::last": "Last name", EMAIL: "Email", "str::ei": "External id",
    "str::postal": "Postal code", "str::language": "Language", "phn::phone": "Phone",
    "geo::city": "City", "geo::region": "Region", "geo::country": "Country", "dtz::b": "Birthday",
    "bol::gdpr": "GDPR consent", "bol::p": "Email permission", "bol::sp": "SMS permission",
}  # fmt: skip


def tag_rows(data: OrttoAccount, base: str) -> list[list[str]]:
    """The account's tags for the overview: name (a link), id, holder count."""
    return [
        [
            link(f"{base}/tags/{segment(str(tag.tag_id))}", tag.name),
            f"<code>{esc(tag.tag_id)}</code>",
            str(len(tag.holders)),
        ]
        for tag in data.tags.values()
    ]


def audience_rows(data: OrttoAccount) -> list[list[str]]:
    """The account's audiences for the overview."""
    return [
        [esc(item.name), f"<code>{esc(item.audience_id)}</code>", esc(item.tag)]
        for item in data.audiences.values()
    ]


def holders_page(
    data: OrttoAccount, base: str, tag_id: str, query: str, number: int
) -> tuple[str, str] | None:
    """(title, body) of a tag's holders page, searchable by email; None for an unknown tag."""
    tag = next((tag for tag in data.tags.values() if str(tag.tag_id) == tag_id), None)
    if tag is None:
        return None
    holders = [data.people[pid] for pid in tag.holders]
    matching = [p for p in holders if query.lower() in str(p.fields.get(EMAIL, "")).lower()]
    shown, pager = page_of(matching, number, query)
    custom = list(data.fields)
    rows = [
        [link(f"{base}/people/{segment(p.person_id)}", p.fields.get(EMAIL, p.person_id))]
        + [esc(p.fields.get(field_id, "")) for field_id in NAME_FIELDS]
        + [_value(data, field_id, p.fields.get(field_id, "")) for field_id in custom]
        for p in shown
    ]
    headers = ["Email", "First name", "Last name", *(f"{data.fields[f].name} ({f})" for f in custom)]
    body = search_form(query) + table(headers, rows, "No holders.", "holders") + pager
    return f"Tag {tag.name}", body


def people_section(data: OrttoAccount, base: str, query: str, number: int) -> str:
    """Every person of the account, tagged or not, searchable by email, each a link to its page."""
    people = list(data.people.values())
    matching = [p for p in people if query.lower() in str(p.fields.get(EMAIL, "")).lower()]
    shown, pager = page_of(matching, number, query)
    rows = [
        [link(f"{base}/people/{segment(p.person_id)}", p.fields.get(EMAIL, p.person_id))]
        + [esc(p.fields.get(field_id, "")) for field_id in NAME_FIELDS]
        + [esc(", ".join(p.tags)) or "none"]
        for p in shown
    ]
    headers = ["Email", "First name", "Last name", "Tags"]
    return (
        f"<h2>Ortto: {len(people)} people</h2>" + table(headers, rows, "No people.", "ortto-people") + pager
    )


def change_row(data: OrttoAccount, change: Change) -> list[str]:
    """A run's change to a tag: its name, who got it, who lost it (by email)."""

    def emails(ids: list[str]) -> list[str]:
        people = [(pid, data.people.get(pid)) for pid in ids]
        return sorted(str(p.fields.get(EMAIL, pid)) if p else pid for pid, p in people)

    return [esc(f"tag {change.key}"), some_of(emails(change.joined)), some_of(emails(change.left))]


def person_page(data: OrttoAccount, base: str, person_id: str) -> tuple[str, str] | None:
    """(title, body) of a person's page: every field, tags, audiences; None for an unknown id."""
    person = data.people.get(person_id)
    if person is None:
        return None
    rows = [["person_id", f"<code>{esc(person.person_id)}</code>"]]
    rows += [
        [_label(data, field_id), _value(data, field_id, value)] for field_id, value in person.fields.items()
    ]
    tag_links = [
        link(f"{base}/tags/{segment(str(data.tags[name].tag_id))}", name)
        for name in person.tags
        if name in data.tags
    ]
    rows += [
        ["Tags", ", ".join(tag_links) or "none"],
        ["Audiences", esc(", ".join(_audiences(data, person))) or "none"],
    ]
    rows += [["Created", esc(person.created_at)], ["Updated", esc(person.updated_at)]]
    return f"Person {person.fields.get(EMAIL, person.person_id)}", table(
        ["Field", "Value"], rows, "", "fields"
    )


def _audiences(data: OrttoAccount, person: Person) -> list[str]:
    found = []
    for item in data.audiences.values():
        if item.tag in person.tags:
            subscribed = item.subscribed.get(person.person_id)
            found.append(f"{item.name} ({'subscribed' if subscribed else 'member'})")
    return found


def _label(data: OrttoAccount, field_id: str) -> str:
    """A field's display name with its id beside it."""
    custom = data.fields.get(field_id)
    name = custom.name if custom is not None else BUILT_IN_NAMES.get(field_id, field_id)
    return f"{esc(name)} <code>{esc(field_id)}</code>"


def _value(data: OrttoAccount, field_id: str, value: object) -> str:
    """A value as stored, decimals shown as the number they stand for (stored times 1000)."""
    custom = data.fields.get(field_id)
    if custom is not None and custom.display_type in THOUSANDTHS and isinstance(value, int):
        return esc(f"{value / 1000:g}")
    return esc(value)
