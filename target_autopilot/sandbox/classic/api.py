"""The Autopilot v1 endpoints: what each path does to an account's data and what it answers.

Handlers receive an already authenticated, admitted `Call` and return `(status, body)`; the WSGI
layer (`app.py`) does auth, rate limiting, faults and encoding. A body of None is an empty 200.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from target_autopilot.sandbox import jsonbody
from target_autopilot.sandbox.classic.contacts import ContactError, parse_contact
from target_autopilot.sandbox.classic.errors import ApiError, bad_request, not_found
from target_autopilot.sandbox.classic.records import Contact, ContactList
from target_autopilot.sandbox.classic.store import Store, Transaction
from target_autopilot.sandbox.classic.upsert import LIST_NOT_FOUND, Upserter, new_uuid, now_iso
from target_autopilot.sandbox.config import SandboxConfig
from target_autopilot.sandbox.routing import Route

PAGE_SIZE = 100
BULK_LIMIT = 100
CONTACT_NOT_FOUND = "Contact could not be found."

Body = dict[str, object] | list[dict[str, str]] | None


@dataclass
class Call:
    """One admitted API request as the handlers see it."""

    account: str
    method: str
    params: dict[str, str]
    body: bytes
    config: SandboxConfig
    bulk_size: int | None = field(default=None, init=False)

    def json_object(self, key: str) -> object:
        """The value under `key` of a JSON object body; 400 when the body is not such an object."""
        try:
            data = jsonbody.loads(self.body or b"null")
        except ValueError:
            raise bad_request("Request body is not valid JSON.") from None
        if not isinstance(data, dict) or key not in data:
            raise bad_request(f'Request body must be a JSON object with a "{key}" key.')
        return data[key]


Handler = Callable[[Call], tuple[int, Body]]


class AutopilotApi:
    """The endpoint handlers over one store, and the route table they answer."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._handlers: dict[tuple[str, str], Handler] = {
            ("/v1/account", "GET"): self.get_account,
            ("/v1/contact", "POST"): self.post_contact,
            ("/v1/contacts", "POST"): self.post_contacts,
            ("/v1/contacts", "GET"): self.get_contacts,
            ("/v1/contacts/custom_fields", "GET"): self.get_custom_fields,
            ("/v1/contacts/{bookmark}", "GET"): self.get_contacts,
            ("/v1/contact/{contact}", "GET"): self.get_contact,
            ("/v1/contact/{contact}", "DELETE"): self.delete_contact,
            ("/v1/contact/{contact}/unsubscribe", "POST"): self.unsubscribe,
            ("/v1/lists", "GET"): self.get_lists,
            ("/v1/list", "POST"): self.post_list,
            ("/v1/list/{list_id}/contacts", "GET"): self.get_members,
            ("/v1/list/{list_id}/contacts/{bookmark}", "GET"): self.get_members,
            ("/v1/list/{list_id}/contact/{contact}", "POST"): self.add_member,
            ("/v1/list/{list_id}/contact/{contact}", "GET"): self.check_member,
            ("/v1/list/{list_id}/contact/{contact}", "DELETE"): self.remove_member,
        }
        methods: dict[str, set[str]] = {}
        for template, method in self._handlers:
            methods.setdefault(template, set()).add(method)
        self.routes = [Route(template, frozenset(allowed)) for template, allowed in methods.items()]

    def handle(self, route: Route, call: Call) -> tuple[int, Body]:
        """Run the handler of a matched route (the caller has checked the method is allowed)."""
        return self._handlers[route.template, call.method](call)

    # Account and custom fields

    def get_account(self, call: Call) -> tuple[int, Body]:
        """GET /account: the account's id and a few descriptive fields."""
        with self._store.transaction() as tx:
            contacts = tx.count_contacts(call.account)
        return 200, {
            "instanceId": call.account,
            "accountName": "Autopilot sandbox",
            "plan": "sandbox",
            "timezone": "UTC",
            "contactCount": contacts,
        }

    def get_custom_fields(self, call: Call) -> tuple[int, Body]:
        """GET /contacts/custom_fields: a bare array of {"name", "fieldType"}."""
        with self._store.transaction() as tx:
            fields = tx.custom_fields(call.account)
        return 200, [{"name": name, "fieldType": kind} for name, kind in fields.items()]

    # Contacts

    def post_contact(self, call: Call) -> tuple[int, Body]:
        """POST /contact: upsert one contact, honouring `_autopilot_list`."""
        try:
            write = parse_contact(call.json_object("contact"))
        except ContactError as error:
            raise bad_request(str(error)) from None
        with self._store.transaction() as tx:
            upserter = Upserter(tx, call.account, call.config, [write.email])
            contact_id = upserter.upsert(write, honour_list=True)
            upserter.flush()
        return 200, {"contact_id": contact_id}

    def post_contacts(self, call: Call) -> tuple[int, Body]:
        """POST /contacts: bulk upsert of at most 100; how a bad item and the answer go are switches."""
        items = call.json_object("contacts")
        if not isinstance(items, list):
            raise bad_request('"contacts" must be an array of contact objects.')
        call.bulk_size = len(items)
        if len(items) > BULK_LIMIT:
            raise bad_request(f"At most {BULK_LIMIT} contacts can be upserted in one request.")
        honour_list = call.config.bulk_list_assignment == "on"
        reject = call.config.bulk_partial_failure == "reject-batch"
        emails = [
            item["Email"] for item in items if isinstance(item, dict) and isinstance(item.get("Email"), str)
        ]
        contact_ids: list[str] = []
        email_map: dict[str, str] = {}
        with self._store.transaction() as tx:
            upserter = Upserter(tx, call.account, call.config, emails)
            for index, item in enumerate(items):
                try:
                    write = parse_contact(item)
                    contact_id = upserter.upsert(write, honour_list=honour_list)
                except (ContactError, ApiError) as error:
                    if reject:
                        raise bad_request(_item_error(index, item, error)) from None
                    continue
                contact_ids.append(contact_id)
                email_map[write.email] = contact_id
            upserter.flush()
        if call.config.bulk_contact_map == "off":
            return 200, {"contact_ids": contact_ids}
        return 200, {"contact_ids": contact_ids, "email_contact_map": email_map}

    def get_contact(self, call: Call) -> tuple[int, Body]:
        """GET /contact/{id_or_email}."""
        with self._store.transaction() as tx:
            contact = _find_contact(tx, call)
            return 200, render_contacts(tx, call.account, [contact])[0]

    def delete_contact(self, call: Call) -> tuple[int, Body]:
        """DELETE /contact/{id_or_email}: the contact and its memberships go."""
        with self._store.transaction() as tx:
            tx.delete_contact(call.account, _find_contact(tx, call).contact_id)
        return 200, None

    def unsubscribe(self, call: Call) -> tuple[int, Body]:
        """POST /contact/{id_or_email}/unsubscribe."""
        with self._store.transaction() as tx:
            contact = _find_contact(tx, call)
            contact.unsubscribed = True
            contact.updated_at = now_iso()
            tx.save_contacts(call.account, [contact])
        return 200, None

    def get_contacts(self, call: Call) -> tuple[int, Body]:
        """GET /contacts[/{bookmark}]: every contact, 100 a page, in creation order."""
        with self._store.transaction() as tx:
            page = tx.contacts_after(call.account, call.params.get("bookmark"), PAGE_SIZE + 1)
            total = tx.count_contacts(call.account)
            return 200, _page(tx, call.account, page, total)

    # Lists

    def get_lists(self, call: Call) -> tuple[int, Body]:
        """GET /lists: every list, not paged."""
        with self._store.transaction() as tx:
            lists = tx.lists(call.account)
        return 200, {"lists": [{"list_id": item.list_id, "title": item.title} for item in lists]}

    def post_list(self, call: Call) -> tuple[int, Body]:
        """POST /list: create a list; an existing title is a 409 or a second list (switch)."""
        name = call.json_object("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request('"name" must be a non-empty string.')
        with self._store.transaction() as tx:
            if call.config.duplicate_list_names == "conflict" and tx.has_list_titled(call.account, name):
                raise ApiError(409, "Conflict", "A list with this name already exists.")
            new_list = ContactList(f"contactlist_{new_uuid()}", name)
            tx.add_list(call.account, new_list)
        return 200, {"list_id": new_list.list_id}

    def get_members(self, call: Call) -> tuple[int, Body]:
        """GET /list/{id}/contacts[/{bookmark}]: members, 100 a page, in order of joining."""
        with self._store.transaction() as tx:
            list_id = _find_list(tx, call).list_id
            bookmark = call.params.get("bookmark")
            page = tx.members_after(call.account, list_id, bookmark, PAGE_SIZE + 1)
            total = tx.count_members(call.account, list_id)
            return 200, _page(tx, call.account, page, total)

    def add_member(self, call: Call) -> tuple[int, Body]:
        """POST /list/{id}/contact/{id_or_email}: `{"not_modified": true}` if already in."""
        with self._store.transaction() as tx:
            list_id = _find_list(tx, call).list_id
            added = tx.add_member(call.account, list_id, _find_contact(tx, call).contact_id)
        return 200, None if added else {"not_modified": True}

    def check_member(self, call: Call) -> tuple[int, Body]:
        """GET /list/{id}/contact/{id_or_email}: 200 for a member, 404 otherwise."""
        with self._store.transaction() as tx:
            list_id = _find_list(tx, call).list_id
            if not tx.is_member(call.account, list_id, _find_contact(tx, call).contact_id):
                raise not_found("Contact is not in this list.")
        return 200, None

    def remove_member(self, call: Call) -> tuple[int, Body]:
        """DELETE /list/{id}/contact/{id_or_email}: `{"not_modified": true}` if it was not in."""
        with self._store.transaction() as tx:
            list_id = _find_list(tx, call).list_id
            removed = tx.remove_member(call.account, list_id, _find_contact(tx, call).contact_id)
        return 200, None if removed else {"not_modified": True}


def render_contacts(tx: Transaction, account: str, contacts: list[Contact]) -> list[dict[str, object]]:
    """Contacts shaped like the real API's GET answers."""
    types = tx.custom_fields(account)
    lists = tx.lists_of(account, [contact.contact_id for contact in contacts])
    return [
        {
            "contact_id": contact.contact_id,
            "Email": contact.email,
            **contact.fields,
            "lists": lists[contact.contact_id],
            "unsubscribed": contact.unsubscribed,
            "custom_fields": [
                {"kind": name, "value": value, "fieldType": types.get(name, "string")}
                for name, value in contact.custom.items()
            ],
            "created_at": contact.created_at,
            "updated_at": contact.updated_at,
        }
        for contact in contacts
    ]


def _find_contact(tx: Transaction, call: Call) -> Contact:
    contact = tx.find_contact(call.account, call.params["contact"])
    if contact is None:
        raise not_found(CONTACT_NOT_FOUND)
    return contact


def _find_list(tx: Transaction, call: Call) -> ContactList:
    found = tx.get_list(call.account, call.params["list_id"])
    if found is None:
        raise not_found(LIST_NOT_FOUND)
    return found


def _page(tx: Transaction, account: str, rows: list[Contact] | None, total: int) -> dict[str, object]:
    """A page from up to PAGE_SIZE + 1 rows: the extra row only tells that another page follows."""
    if rows is None:
        raise not_found("Bookmark could not be found.")
    page = rows[:PAGE_SIZE]
    body: dict[str, object] = {
        "contacts": render_contacts(tx, account, page),
        "total_contacts": total,
    }
    if len(rows) > PAGE_SIZE:
        body["bookmark"] = page[-1].contact_id
    return body


def _item_error(index: int, item: object, error: Exception) -> str:
    email = item.get("Email") if isinstance(item, dict) else None
    return f"Contact at index {index} ({email if isinstance(email, str) else 'no Email'}): {error}"
