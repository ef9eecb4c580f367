"""The state of every account (contacts, lists, memberships, custom fields).

The data lives in plain Python dicts, so that a request costs no SQL and no JSON round trip: a
100-contact bulk upsert is a few hundred dict operations. With `--db PATH` every change is also
written through to a SQLite file, in one SQLite transaction per store transaction, and the file is
read back into memory when the sandbox starts: it survives restarts.

One lock guards everything: every read or write happens inside `Store.transaction()`, so a check
followed by a write is atomic even with many client threads. A transaction that raises is rolled
back, in memory (an undo log) and in the file (its statements are never run).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from target_autopilot.sandbox.classic.contacts import FieldValue

# `seq` is the rowid: it orders contacts by creation and members by joining. Plain rowids (no
# AUTOINCREMENT, which costs a table update per insert) only reuse the largest value once its row
# is gone, so a new row still sorts after every remaining one.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    fields TEXT NOT NULL,
    custom TEXT NOT NULL,
    unsubscribed INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (account, contact_id)
);
-- Not UNIQUE: a bulk request can move an email from one contact to another, and the rows are
-- written in one batch; the API layer keeps emails unique under the store's lock.
CREATE INDEX IF NOT EXISTS contacts_by_email ON contacts (account, email_key);
CREATE TABLE IF NOT EXISTS lists (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    list_id TEXT NOT NULL,
    title TEXT NOT NULL,
    UNIQUE (account, list_id)
);
CREATE TABLE IF NOT EXISTS members (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    list_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    UNIQUE (account, list_id, contact_id)
);
CREATE INDEX IF NOT EXISTS members_in_order ON members (account, list_id, seq);
CREATE INDEX IF NOT EXISTS members_by_contact ON members (account, contact_id);
CREATE TABLE IF NOT EXISTS custom_fields (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    field_type TEXT NOT NULL,
    UNIQUE (account, name)
);
"""
_TABLES = ("contacts", "lists", "members", "custom_fields")
_SAVE_CONTACT = (
    "INSERT INTO contacts (account, contact_id, email, email_key, fields, custom,"
    " unsubscribed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (account, contact_id) DO UPDATE SET email = excluded.email,"
    " email_key = excluded.email_key, fields = excluded.fields, custom = excluded.custom,"
    " unsubscribed = excluded.unsubscribed, updated_at = excluded.updated_at"
)
_ADD_MEMBER = "INSERT OR IGNORE INTO members (account, list_id, contact_id) VALUES (?, ?, ?)"
# Compact an order index once it holds more removed entries than this and than live ones.
_COMPACT_AFTER = 64

Row = tuple[object, ...]


@dataclass
class Contact:
    """A stored contact. `fields` holds the standard fields except Email; `custom` maps name → value."""

    contact_id: str
    email: str
    fields: dict[str, str | int | float]
    custom: dict[str, FieldValue]
    unsubscribed: bool
    created_at: str
    updated_at: str

    def copy(self) -> Contact:
        """A copy that can be changed without changing this one."""
        return Contact(
            self.contact_id,
            self.email,
            dict(self.fields),
            dict(self.custom),
            self.unsubscribed,
            self.created_at,
            self.updated_at,
        )


@dataclass(frozen=True)
class ContactList:
    """A stored list."""

    list_id: str
    title: str


class StoreClosedError(RuntimeError):
    """The store was closed (the sandbox is stopping): no more reads or writes."""


class _Ordered:
    """Keys in the order they were added, with "the next N after this key" in O(log n).

    `seq` maps each present key to its (store-wide, increasing) sequence number; the parallel lists
    keep every key ever added in sequence order, including removed ones (skipped when read, and
    dropped by `compact()`, which only runs between transactions so that an undo can rely on them).
    """

    def __init__(self) -> None:
        self.seq: dict[str, int] = {}
        self._seqs: list[int] = []
        self._keys: list[str] = []
        self._removed = 0

    def __len__(self) -> int:
        return len(self.seq)

    def __contains__(self, key: str) -> bool:
        return key in self.seq

    def add(self, key: str, seq: int) -> None:
        """Add a key that is not present, after every other key."""
        self.seq[key] = seq
        self._seqs.append(seq)
        self._keys.append(key)

    def unadd(self, key: str) -> None:
        """Undo the latest `add`, which was of `key`."""
        del self.seq[key]
        self._seqs.pop()
        self._keys.pop()

    def remove(self, key: str) -> int:
        """Remove a present key; return its sequence number (for `restore`)."""
        self._removed += 1
        return self.seq.pop(key)

    def restore(self, key: str, seq: int) -> None:
        """Undo a `remove` (of this transaction) of `key`."""
        self._removed -= 1
        self.seq[key] = seq

    def after(self, key: str | None, limit: int) -> list[str] | None:
        """Up to `limit` keys following `key` (from the start for None); None when `key` is absent."""
        start = 0
        if key is not None:
            seq = self.seq.get(key)
            if seq is None:
                return None
            start = bisect_right(self._seqs, seq)
        found: list[str] = []
        live, seqs, keys = self.seq, self._seqs, self._keys
        for index in range(start, len(keys)):
            if len(found) >= limit:
                break
            if live.get(keys[index]) == seqs[index]:
                found.append(keys[index])
        return found

    def __iter__(self) -> Iterator[str]:
        live = self.seq
        return (key for seq, key in zip(self._seqs, self._keys, strict=True) if live.get(key) == seq)

    def compact(self) -> None:
        """Drop removed keys from the order lists once they outnumber the present ones."""
        if self._removed > _COMPACT_AFTER and self._removed > len(self.seq):
            pairs = sorted((seq, key) for key, seq in self.seq.items())
            self._seqs = [seq for seq, _ in pairs]
            self._keys = [key for _, key in pairs]
            self._removed = 0


@dataclass
class _Account:
    contacts: dict[str, Contact] = field(default_factory=dict)
    order: _Ordered = field(default_factory=_Ordered)  # contact ids in creation order
    by_email: dict[str, str] = field(default_factory=dict)  # lower-cased email → contact id
    lists: dict[str, ContactList] = field(default_factory=dict)  # in creation order
    titles: dict[str, int] = field(default_factory=dict)  # title → how many lists have it
    members: dict[str, _Ordered] = field(default_factory=dict)  # list id → members by joining
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
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
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

    def _write_through(self, statements: list[tuple[str, list[Row]]]) -> None:
        if self._db is None:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                self._db.executemany(sql, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _load(self, db: sqlite3.Connection) -> None:
        """Read the whole file into memory, in its order (contacts by creation, members by joining)."""
        tx = Transaction(self)
        for account, name, field_type in db.execute(
            "SELECT account, name, field_type FROM custom_fields ORDER BY seq"
        ):
            tx.account(account).fields[name] = field_type
        for account, list_id, title in db.execute("SELECT account, list_id, title FROM lists ORDER BY seq"):
            tx.account(account).lists[list_id] = ContactList(list_id, title)
            titles = tx.account(account).titles
            titles[title] = titles.get(title, 0) + 1
        rows = db.execute(
            "SELECT account, contact_id, email, fields, custom, unsubscribed, created_at, updated_at"
            " FROM contacts ORDER BY seq"
        )
        for account, contact_id, email, fields, custom, unsubscribed, created_at, updated_at in rows:
            contact = Contact(
                contact_id,
                email,
                json.loads(fields),
                json.loads(custom),
                bool(unsubscribed),
                created_at,
                updated_at,
            )
            tx.insert_contact(tx.account(account), contact)
        for account, list_id, contact_id in db.execute(
            "SELECT account, list_id, contact_id FROM members ORDER BY seq"
        ):
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
        self.statements: list[tuple[str, list[Row]]] = []
        self.shrunk: list[_Ordered] = []
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
        for table in _TABLES:
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
                rows.append(_contact_row(account, contact))
        self._write(_SAVE_CONTACT, rows)

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
        self._write(_ADD_MEMBER, [(account, list_id, contact_id)])
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
        self._write(_ADD_MEMBER, rows)

    def join(self, data: _Account, list_id: str, contact_id: str) -> None:
        """Make a contact that is not a member of the list its latest member (no undo step)."""
        seq = next(self._store._seq)
        members = data.members.get(list_id)
        if members is None:
            members = data.members[list_id] = _Ordered()
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
        members = data.members.get(list_id) or _Ordered()
        ids = members.after(bookmark, limit)
        return None if ids is None else [data.contacts[contact_id] for contact_id in ids]

    def member_emails(self, account: str, list_id: str) -> list[str]:
        """The emails of every member of the list, in order of joining."""
        data = self.account(account)
        members = data.members.get(list_id) or _Ordered()
        return [data.contacts[contact_id].email for contact_id in members]

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


def _contact_row(account: str, contact: Contact) -> Row:
    return (
        account,
        contact.contact_id,
        contact.email,
        contact.email.lower(),
        json.dumps(contact.fields),
        json.dumps(contact.custom),
        int(contact.unsubscribed),
        contact.created_at,
        contact.updated_at,
    )
