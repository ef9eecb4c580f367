"""Upserting a batch of contact writes into one account: check each, apply, then write all at once.

Each write is checked completely (list exists, custom field types, email not taken) before it
changes anything, so a refused write leaves no trace; later writes in the batch see the earlier
ones. Nothing reaches the database before `flush()`, so rejecting a whole batch is just not
flushing it. Batching the statements keeps a 100-contact bulk request to a few milliseconds.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from target_autopilot.sandbox.classic.contacts import ContactWrite, CustomValue
from target_autopilot.sandbox.classic.errors import ApiError, bad_request, not_found
from target_autopilot.sandbox.classic.records import Contact
from target_autopilot.sandbox.classic.store import Transaction
from target_autopilot.sandbox.config import SandboxConfig

LIST_NOT_FOUND = "List could not be found."


def new_uuid() -> str:
    """A random (version 4) UUID as text: what `str(uuid.uuid4())` gives, at half the cost."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def now_iso() -> str:
    """The current UTC time as the API writes it: 2024-05-01T12:00:00.000Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Upserter:
    """A batch of upserts into one account, inside one store transaction."""

    def __init__(self, tx: Transaction, account: str, config: SandboxConfig, emails: list[str]) -> None:
        self._tx = tx
        self._account = account
        self._config = config
        self._now = now_iso()
        # Lower-cased email → contact, or None for an email known to be free.
        self._by_email: dict[str, Contact | None] = {email.lower(): None for email in emails}
        self._by_email.update(tx.contacts_by_emails(account, emails))
        self._fields = tx.custom_fields(account)
        self._new_fields: dict[str, str] = {}
        self._lists: dict[str, bool] = {}
        self._changed: dict[str, Contact] = {}
        self._members: list[tuple[str, str]] = []

    def upsert(self, write: ContactWrite, *, honour_list: bool) -> str:
        """Check and apply one write; return the contact id. Raises ApiError, changing nothing."""
        list_id = write.list_id if honour_list else None
        if list_id is not None and not self._list_exists(list_id):
            raise not_found(LIST_NOT_FOUND)
        self._check_custom_fields(write.custom)
        contact = self._find(write.email)
        if write.new_email is not None:
            owner = self._find(write.new_email)
            if owner is not None and owner is not contact:
                raise ApiError(409, "Conflict", f"Another contact has the email '{write.new_email}'.")
        contact = self._apply(write, contact)
        if list_id is not None:
            self._members.append((list_id, contact.contact_id))
        return contact.contact_id

    def flush(self) -> None:
        """Write every change of the batch to the database."""
        self._tx.add_custom_fields(self._account, self._new_fields)
        self._tx.save_contacts(self._account, self._changed.values())
        self._tx.add_members(self._account, self._members)

    def _apply(self, write: ContactWrite, contact: Contact | None) -> Contact:
        for value in write.custom:
            if value.name not in self._fields:
                self._fields[value.name] = self._new_fields[value.name] = value.field_type
        if contact is None:
            contact = Contact(f"person_{new_uuid()}", write.email, {}, {}, False, self._now, self._now)
        self._by_email[contact.email.lower()] = None
        contact.email = write.new_email or write.email
        self._by_email[contact.email.lower()] = contact
        contact.fields.update(write.fields)
        contact.custom.update({value.name: value.value for value in write.custom})
        if write.unsubscribed is not None:
            contact.unsubscribed = write.unsubscribed
        contact.updated_at = self._now
        self._changed[contact.contact_id] = contact
        return contact

    def _find(self, email: str) -> Contact | None:
        key = email.lower()
        if key not in self._by_email:
            self._by_email[key] = self._tx.contact_by_email(self._account, email)
        return self._by_email[key]

    def _list_exists(self, list_id: str) -> bool:
        if list_id not in self._lists:
            self._lists[list_id] = self._tx.get_list(self._account, list_id) is not None
        return self._lists[list_id]

    def _check_custom_fields(self, values: tuple[CustomValue, ...]) -> None:
        """Refuse a type change, or an unknown field when fields must exist first."""
        seen = dict(self._fields)
        for value in values:
            stored = seen.setdefault(value.name, value.field_type)
            if value.name not in self._fields and self._config.custom_fields == "must-exist":
                raise bad_request(f"Custom field '{value.name}' does not exist.")
            if stored != value.field_type:
                raise bad_request(
                    f"Custom field '{value.name}' is a {stored} field; "
                    f"it cannot take a {value.field_type} value."
                )
