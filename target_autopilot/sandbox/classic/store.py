"""The state of every account (contacts, lists, memberships, custom fields).

The data lives in plain Python dicts, so that a request costs no SQL and no JSON round trip: a
100-contact bulk upsert is a few hundred dict operations. With `--db PATH` every change is also
written through to a SQLite file (persistence.py), in one SQLite transaction per store transaction,
and the file is read back into memory when the sandbox starts: it survives restarts.

One lock guards everything: every read or write happens inside `Store.transaction()`, so a check
followed by a write is atomic even with many client threads. A transaction that raises is rolled
back, in memory (an undo log) and in the file (its statements are never run).
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from target_autopilot.sandbox.classic.ordered import Ordered
from target_autopilot.sandbox.classic.persistence import (
    ADD_MEMBER,
    SAVE_CONTACT,
    TABLES,
    Row,
    Statements,
    contact_row,
    open_file,
    saved_contacts,
    saved_fields,
    saved_lists,
    saved_members,
    write_through,
)
from target_autopilot.sandbox.classic.records import Contact, ContactList


class StoreClosedError(RuntimeError):
    """The store was closed (the sandbox is stopping): no more reads or writes."""


@dataclass
class _Account:
    contacts: dict[str, Contact] = field(default_factory=dict)
    order: Ordered = field(default_factory=Ordered)  # contact ids in creation order
    by_email: dict[str, str] = field(default_factory=dict)  # lower-cased email → contact id
    lists: dict[str, ContactList] = field(default_factory=dict)  # in creation order
    titles: dict[str, int] = field(default_factory=dict)  # title → how many lists have it
    members: dict[str, Ordered] = field(default_factory=dict)  # list id → members by joining
    joined: dict[str, dict[str, int]] = field(default_factory=dict)  # contact id → list id → seq
    fields: dict[str, str] = field(default_factory=dict)  # custom field name → type


class Store:
    """Owner of the data (and of the SQLite file, if any); hands out transactions one at a time."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._accounts: dict[str, _Account] = {}
        self._db: sqlite3.Connection | None = None
        self._closed = False
        if path:
            self._db = open_file(path)
            self._load(self._db)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the lock for a block of reads and writes; roll all of them back on an exception."""
        with self._lock:
            if self._closed:
                raise StoreClosedError("the sandbox is stopping")
            tx = Transaction(self)
            try:
                yield tx
                if tx.statements:
                    self._write_through(tx.statements)
            except BaseException:
                tx.undo()
                raise
            for ordered in tx.shrunk:
                ordered.compact()

    def close(self) -> None:
        """Refuse further transactions (waiting for the one under way) and close the file, if any."""
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()

    def _write_through(self, statements: Statements) -> None:
        if self._db is not None:
            write_through(self._db, statements)

    def _load(self, db: sqlite3.Connection) -> None:
        """Read the whole file into memory, in its order (contacts by creation, members by joining)."""
        tx = Transaction(self)
        for account, name, field_type in saved_fields(db):
            tx.account(account).fields[name] = field_type
        for account, contact_list in saved_lists(db):
            data = tx.account(account)
            data.lists[contact_list.list_id] = contact_list
            data.titles[contact_list.title] = data.titles.get(contact_list.title, 0) + 1
        for account, contact in saved_contacts(db):
            tx.insert_contact(tx.account(account), contact)
        for account, list_id, contact_id in saved_members(db):
            data = tx.account(account)
            if contact_id in data.contacts and list_id in data.lists:
                tx.join(data, list_id, contact_id)


class Transaction:
    """Queries and changes, valid only inside `Store.transaction()`.

    Contacts returned by `find_contact`, `contact_by_email` and `contacts_by_emails` are copies, to
    change and then `save_contacts`; the store keeps the saved objects themselves, so a caller must
    not change a contact after saving it. Contacts returned for reading (pages, `all_contacts`) are
    the stored ones: never change them.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._undo: list[Callable[[], None]] = []
        self.statements: Statements = []
        self.shrunk: list[Ordered] = []
        self._persist = store._db is not None

    def undo(self) -> None:
        """Take back every change of this transaction, latest first."""
        for step in reversed(self._undo):
            step()
        self._undo.clear()

    def account(self, account: str) -> _Account:
        """The account's data (empty for an account that has none yet)."""
        data = self._store._accounts.get(account)
        if data is None:
            data = self._store._accounts[account] = _Account()
        return data

    def _write(self, sql: str, rows: list[Row]) -> None:
        if self._persist and rows:
            self.statements.append((sql, rows))

    def clear(self) -> None:
        """Delete every account's data."""
        accounts = self._store._accounts
        self._store._accounts = {}
        self._undo.append(lambda: setattr(self._store, "_accounts", accounts))
        for table in TABLES:
            self._write(f"DELETE FROM {table}", [()])  # noqa: S608 - fixed table names

    # Contacts

    def find_contact(self, account: str, id_or_email: str) -> Contact | None:
        """A copy of the contact with this id, else of the one with this email (ignoring case)."""
        data = self.account(account)
        contact = data.contacts.get(id_or_email)
        if contact is None:
            contact = data.contacts.get(data.by_email.get(id_or_email.lower(), ""))
        return contact.copy() if contact else None

    def contact_by_email(self, account: str, email: str) -> Contact | None:
        """A copy of the contact with this email, compared without regard to case."""
        data = self.account(account)
        contact = data.contacts.get(data.by_email.get(email.lower(), ""))
        return contact.copy() if contact else None

    def contacts_by_emails(self, account: str, emails: list[str]) -> dict[str, Contact]:
        """Copies of the stored contacts with these emails, keyed by lower-cased email."""
        data = self.account(account)
        found: dict[str, Contact] = {}
        for email in emails:
            key = email.lower()
            contact_id = data.by_email.get(key)
            if contact_id is not None and key not in found:
                found[key] = data.contacts[contact_id].copy()
        return found

    def save_contacts(self, account: str, contacts: Iterable[Contact]) -> None:
        """Insert each contact, or replace the stored one with the same id (the store keeps it)."""
        data = self.account(account)
        rows: list[Row] = []
        for contact in contacts:
            previous = data.contacts.get(contact.contact_id)
            data.contacts[contact.contact_id] = contact
            if previous is None:
                data.order.add(contact.contact_id, next(self._store._seq))
            else:
                old_key = previous.email.lower()
                if data.by_email.get(old_key) == contact.contact_id:
                    self._set_email(data, old_key, None)
            self._undo.append(partial(_unsave, data, contact.contact_id, previous))
            self._set_email(data, contact.email.lower(), contact.contact_id)
            if self._persist:
                rows.append(contact_row(account, contact))
        self._write(SAVE_CONTACT, rows)

    def insert_contact(self, data: _Account, contact: Contact) -> None:
        """Add a new contact (no undo step: the caller adds one)."""
        data.contacts[contact.contact_id] = contact
        data.order.add(contact.contact_id, next(self._store._seq))
        data.by_email[contact.email.lower()] = contact.contact_id

    def _set_email(self, data: _Account, key: str, contact_id: str | None) -> None:
        previous = data.by_email.get(key)
        if previous == contact_id:
            return
        _put(data.by_email, key, contact_id)
        self._undo.append(partial(_put, data.by_email, key, previous))

    def delete_contact(self, account: str, contact_id: str) -> None:
        """Delete the contact and its memberships."""
        data = self.account(account)
        for list_id in list(data.joined.get(contact_id, {})):
            self._leave(data, list_id, contact_id)
        contact = data.contacts.pop(contact_id)
        seq = data.order.remove(contact_id)
        self.shrunk.append(data.order)

        def undo() -> None:
            data.contacts[contact_id] = contact
            data.order.restore(contact_id, seq)

        self._undo.append(undo)
        if data.by_email.get(contact.email.lower()) == contact_id:
            self._set_email(data, contact.email.lower(), None)
        self._write("DELETE FROM members WHERE account = ? AND contact_id = ?", [(account, contact_id)])
        self._write("DELETE FROM contacts WHERE account = ? AND contact_id = ?", [(account, contact_id)])

    def count_contacts(self, account: str) -> int:
        """How many contacts the account has."""
        return len(self.account(account).contacts)

    def contacts_after(self, account: str, bookmark: str | None, limit: int) -> list[Contact] | None:
        """Up to `limit` contacts in creation order after the bookmark; None for an unknown bookmark."""
        data = self.account(account)
        ids = data.order.after(bookmark, limit)
        return None if ids is None else [data.contacts[contact_id] for contact_id in ids]

    def all_contacts(self, account: str) -> list[Contact]:
        """Every contact of the account, in creation order."""
        data = self.account(account)
        return [data.contacts[contact_id] for contact_id in data.order]

    # Lists and members

    def lists(self, account: str) -> list[ContactList]:
        """The account's lists in creation order."""
        return list(self.account(account).lists.values())

    def get_list(self, account: str, list_id: str) -> ContactList | None:
        """The list with this id, if any."""
        return self.account(account).lists.get(list_id)

    def has_list_titled(self, account: str, title: str) -> bool:
        """Whether a list with exactly this title exists."""
        return title in self.account(account).titles

    def add_list(self, account: str, contact_list: ContactList) -> None:
        """Store a new list."""
        data = self.account(account)
        data.lists[contact_list.list_id] = contact_list
        data.titles[contact_list.title] = data.titles.get(contact_list.title, 0) + 1

        def undo() -> None:
            del data.lists[contact_list.list_id]
            data.titles[contact_list.title] -= 1
            if not data.titles[contact_list.title]:
                del data.titles[contact_list.title]

        self._undo.append(undo)
        self._write(
            "INSERT INTO lists (account, list_id, title) VALUES (?, ?, ?)",
            [(account, contact_list.list_id, contact_list.title)],
        )

    def add_member(self, account: str, list_id: str, contact_id: str) -> bool:
        """Add the contact to the list; False when it already was a member."""
        data = self.account(account)
        members = data.members.get(list_id)
        if members is not None and contact_id in members:
            return False
        self.join(data, list_id, contact_id)
        self._undo.append(partial(_unjoin, data, list_id, contact_id))
        self._write(ADD_MEMBER, [(account, list_id, contact_id)])
        return True

    def add_members(self, account: str, memberships: Iterable[tuple[str, str]]) -> None:
        """Add each (list_id, contact_id) membership that does not exist yet."""
        data = self.account(account)
        rows: list[Row] = []
        for list_id, contact_id in memberships:
            members = data.members.get(list_id)
            if members is None or contact_id not in members:
                self.join(data, list_id, contact_id)
                self._undo.append(partial(_unjoin, data, list_id, contact_id))
                rows.append((account, list_id, contact_id))
        self._write(ADD_MEMBER, rows)

    def join(self, data: _Account, list_id: str, contact_id: str) -> None:
        """Make a contact that is not a member of the list its latest member (no undo step)."""
        seq = next(self._store._seq)
        members = data.members.get(list_id)
        if members is None:
            members = data.members[list_id] = Ordered()
        members.add(contact_id, seq)
        data.joined.setdefault(contact_id, {})[list_id] = seq

    def _leave(self, data: _Account, list_id: str, contact_id: str) -> None:
        members = data.members[list_id]
        seq = members.remove(contact_id)
        del data.joined[contact_id][list_id]
        self.shrunk.append(members)

        def undo() -> None:
            members.restore(contact_id, seq)
            data.joined.setdefault(contact_id, {})[list_id] = seq

        self._undo.append(undo)

    def remove_member(self, account: str, list_id: str, contact_id: str) -> bool:
        """Remove the contact from the list; False when it was not a member."""
        data = self.account(account)
        members = data.members.get(list_id)
        if members is None or contact_id not in members:
            return False
        self._leave(data, list_id, contact_id)
        self._write(
            "DELETE FROM members WHERE account = ? AND list_id = ? AND contact_id = ?",
            [(account, list_id, contact_id)],
        )
        return True

    def is_member(self, account: str, list_id: str, contact_id: str) -> bool:
        """Whether the contact is in the list."""
        members = self.account(account).members.get(list_id)
        return members is not None and contact_id in members

    def count_members(self, account: str, list_id: str) -> int:
        """How many contacts the list has."""
        members = self.account(account).members.get(list_id)
        return 0 if members is None else len(members)

    def members_after(
        self, account: str, list_id: str, bookmark: str | None, limit: int
    ) -> list[Contact] | None:
        """Up to `limit` members in order of joining after the bookmark; None for an unknown one."""
        data = self.account(account)
        members = data.members.get(list_id) or Ordered()
        ids = members.after(bookmark, limit)
        return None if ids is None else [data.contacts[contact_id] for contact_id in ids]

    def member_emails(self, account: str, list_id: str) -> list[str]:
        """The emails of every member of the list, in order of joining."""
        data = self.account(account)
        members = data.members.get(list_id) or Ordered()
        return [data.contacts[contact_id].email for contact_id in members]

    def member_ids(self, account: str, list_id: str) -> frozenset[str]:
        """The contact ids of every member of the list (cheap: no contact is read)."""
        members = self.account(account).members.get(list_id)
        return frozenset(() if members is None else members.seq)

    def lists_of(self, account: str, contact_ids: list[str]) -> dict[str, list[str]]:
        """The ids of the lists each contact belongs to, in order of joining."""
        joined = self.account(account).joined
        found: dict[str, list[str]] = {}
        for contact_id in contact_ids:
            lists = joined.get(contact_id, {})
            found[contact_id] = sorted(lists, key=lists.__getitem__)
        return found

    # Custom fields

    def custom_fields(self, account: str) -> dict[str, str]:
        """Name → type of every custom field, in creation order (a copy)."""
        return dict(self.account(account).fields)

    def add_custom_fields(self, account: str, fields: dict[str, str]) -> None:
        """Create custom fields, name → type (the caller has checked none exists)."""
        if not fields:
            return
        stored = self.account(account).fields
        stored.update(fields)

        def undo() -> None:
            for name in fields:
                del stored[name]

        self._undo.append(undo)
        self._write(
            "INSERT INTO custom_fields (account, name, field_type) VALUES (?, ?, ?)",
            [(account, name, field_type) for name, field_type in fields.items()],
        )


def _unsave(data: _Account, contact_id: str, previous: Contact | None) -> None:
    """Undo a save: the previous contact back, or a new one gone (its email is undone apart)."""
    if previous is None:
        del data.contacts[contact_id]
        data.order.unadd(contact_id)
    else:
        data.contacts[contact_id] = previous


def _unjoin(data: _Account, list_id: str, contact_id: str) -> None:
    data.members[list_id].unadd(contact_id)
    del data.joined[contact_id][list_id]


def _put(mapping: dict[str, str], key: str, value: str | None) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value
