"""The state of every account (contacts, lists, memberships, custom fields), kept in SQLite.

An in-memory SQLite database by default, or a file (`--db PATH`) that survives restarts. One
connection guarded by one lock: every read or write happens inside `Store.transaction()`, so a
check followed by a write is atomic even with many client threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from target_autopilot.sandbox.contacts import FieldValue

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
_CONTACT_COLUMNS = "contact_id, email, fields, custom, unsubscribed, created_at, updated_at"


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


@dataclass(frozen=True)
class ContactList:
    """A stored list."""

    list_id: str
    title: str


class Store:
    """Owner of the SQLite connection; hands out transactions one at a time."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the lock for a block of reads and writes; roll all of them back on an exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database (the file, if any, keeps every committed change)."""
        with self._lock:
            self._db.close()


class Transaction:
    """Queries and changes, valid only inside `Store.transaction()`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def clear(self) -> None:
        """Delete every account's data."""
        for table in ("contacts", "lists", "members", "custom_fields"):
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    # Contacts

    def find_contact(self, account: str, id_or_email: str) -> Contact | None:
        """The contact with this id, else the one with this email (ignoring case)."""
        row = self._db.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE account = ? AND contact_id = ?",  # noqa: S608
            (account, id_or_email),
        ).fetchone()
        return _contact(row) if row else self.contact_by_email(account, id_or_email)

    def contact_by_email(self, account: str, email: str) -> Contact | None:
        """The contact with this email, compared without regard to case."""
        row = self._db.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE account = ? AND email_key = ?",  # noqa: S608
            (account, email.lower()),
        ).fetchone()
        return _contact(row) if row else None

    def contacts_by_emails(self, account: str, emails: list[str]) -> dict[str, Contact]:
        """The stored contacts with these emails, keyed by lower-cased email."""
        keys = sorted({email.lower() for email in emails})
        placeholders = ",".join("?" * len(keys))
        rows = self._db.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE account = ?"  # noqa: S608
            f" AND email_key IN ({placeholders})",
            (account, *keys),
        )
        return {contact.email.lower(): contact for contact in map(_contact, rows)}

    def save_contacts(self, account: str, contacts: Iterable[Contact]) -> None:
        """Insert each contact, or replace the stored one with the same id."""
        self._db.executemany(
            "INSERT INTO contacts (account, contact_id, email, email_key, fields, custom,"
            " unsubscribed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account, contact_id) DO UPDATE SET email = excluded.email,"
            " email_key = excluded.email_key, fields = excluded.fields, custom = excluded.custom,"
            " unsubscribed = excluded.unsubscribed, updated_at = excluded.updated_at",
            [
                (
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
                for contact in contacts
            ],
        )

    def delete_contact(self, account: str, contact_id: str) -> None:
        """Delete the contact and its memberships."""
        self._db.execute("DELETE FROM members WHERE account = ? AND contact_id = ?", (account, contact_id))
        self._db.execute("DELETE FROM contacts WHERE account = ? AND contact_id = ?", (account, contact_id))

    def count_contacts(self, account: str) -> int:
        """How many contacts the account has."""
        row = self._db.execute("SELECT COUNT(*) FROM contacts WHERE account = ?", (account,)).fetchone()
        return int(row[0])

    def contacts_after(self, account: str, bookmark: str | None, limit: int) -> list[Contact] | None:
        """Up to `limit` contacts in creation order after the bookmark; None for an unknown bookmark."""
        start = self._seq("contacts", account, "", bookmark)
        if start is None:
            return None
        rows = self._db.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE account = ? AND seq > ?"  # noqa: S608
            " ORDER BY seq LIMIT ?",
            (account, start, limit),
        ).fetchall()
        return [_contact(row) for row in rows]

    def all_contacts(self, account: str) -> list[Contact]:
        """Every contact of the account, in creation order."""
        rows = self._db.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE account = ? ORDER BY seq",  # noqa: S608
            (account,),
        ).fetchall()
        return [_contact(row) for row in rows]

    # Lists and members

    def lists(self, account: str) -> list[ContactList]:
        """The account's lists in creation order."""
        rows = self._db.execute(
            "SELECT list_id, title FROM lists WHERE account = ? ORDER BY seq", (account,)
        ).fetchall()
        return [ContactList(list_id, title) for list_id, title in rows]

    def get_list(self, account: str, list_id: str) -> ContactList | None:
        """The list with this id, if any."""
        row = self._db.execute(
            "SELECT list_id, title FROM lists WHERE account = ? AND list_id = ?", (account, list_id)
        ).fetchone()
        return ContactList(row[0], row[1]) if row else None

    def has_list_titled(self, account: str, title: str) -> bool:
        """Whether a list with exactly this title exists."""
        row = self._db.execute(
            "SELECT 1 FROM lists WHERE account = ? AND title = ?", (account, title)
        ).fetchone()
        return row is not None

    def add_list(self, account: str, contact_list: ContactList) -> None:
        """Store a new list."""
        self._db.execute(
            "INSERT INTO lists (account, list_id, title) VALUES (?, ?, ?)",
            (account, contact_list.list_id, contact_list.title),
        )

    def add_member(self, account: str, list_id: str, contact_id: str) -> bool:
        """Add the contact to the list; False when it already was a member."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO members (account, list_id, contact_id) VALUES (?, ?, ?)",
            (account, list_id, contact_id),
        )
        return cursor.rowcount == 1

    def add_members(self, account: str, memberships: Iterable[tuple[str, str]]) -> None:
        """Add each (list_id, contact_id) membership that does not exist yet."""
        self._db.executemany(
            "INSERT OR IGNORE INTO members (account, list_id, contact_id) VALUES (?, ?, ?)",
            [(account, list_id, contact_id) for list_id, contact_id in memberships],
        )

    def remove_member(self, account: str, list_id: str, contact_id: str) -> bool:
        """Remove the contact from the list; False when it was not a member."""
        cursor = self._db.execute(
            "DELETE FROM members WHERE account = ? AND list_id = ? AND contact_id = ?",
            (account, list_id, contact_id),
        )
        return cursor.rowcount == 1

    def is_member(self, account: str, list_id: str, contact_id: str) -> bool:
        """Whether the contact is in the list."""
        return self._seq("members", account, list_id, contact_id) is not None

    def count_members(self, account: str, list_id: str) -> int:
        """How many contacts the list has."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM members WHERE account = ? AND list_id = ?", (account, list_id)
        ).fetchone()
        return int(row[0])

    def members_after(
        self, account: str, list_id: str, bookmark: str | None, limit: int
    ) -> list[Contact] | None:
        """Up to `limit` members in order of joining after the bookmark; None for an unknown one."""
        start = self._seq("members", account, list_id, bookmark)
        if start is None:
            return None
        rows = self._db.execute(
            "SELECT c.contact_id, c.email, c.fields, c.custom, c.unsubscribed, c.created_at,"
            " c.updated_at FROM members m JOIN contacts c"
            " ON c.account = m.account AND c.contact_id = m.contact_id"
            " WHERE m.account = ? AND m.list_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?",
            (account, list_id, start, limit),
        ).fetchall()
        return [_contact(row) for row in rows]

    def member_emails(self, account: str, list_id: str) -> list[str]:
        """The emails of every member of the list, in order of joining."""
        rows = self._db.execute(
            "SELECT c.email FROM members m JOIN contacts c"
            " ON c.account = m.account AND c.contact_id = m.contact_id"
            " WHERE m.account = ? AND m.list_id = ? ORDER BY m.seq",
            (account, list_id),
        )
        return [email for (email,) in rows]

    def lists_of(self, account: str, contact_ids: list[str]) -> dict[str, list[str]]:
        """The ids of the lists each contact belongs to, in order of joining."""
        found: dict[str, list[str]] = {contact_id: [] for contact_id in contact_ids}
        placeholders = ",".join("?" * len(contact_ids))
        rows = self._db.execute(
            "SELECT contact_id, list_id FROM members WHERE account = ?"  # noqa: S608
            f" AND contact_id IN ({placeholders}) ORDER BY seq",
            (account, *contact_ids),
        )
        for contact_id, list_id in rows:
            found[contact_id].append(list_id)
        return found

    # Custom fields

    def custom_fields(self, account: str) -> dict[str, str]:
        """Name → type of every custom field, in creation order."""
        rows = self._db.execute(
            "SELECT name, field_type FROM custom_fields WHERE account = ? ORDER BY seq", (account,)
        )
        return dict(rows.fetchall())

    def add_custom_fields(self, account: str, fields: dict[str, str]) -> None:
        """Create custom fields, name → type (the caller has checked none exists)."""
        self._db.executemany(
            "INSERT INTO custom_fields (account, name, field_type) VALUES (?, ?, ?)",
            [(account, name, field_type) for name, field_type in fields.items()],
        )

    def _seq(self, table: str, account: str, list_id: str, contact_id: str | None) -> int | None:
        """The row order of a contact (or membership): 0 for no bookmark, None when absent."""
        if contact_id is None:
            return 0
        where = "account = ? AND contact_id = ?"
        params: tuple[str, ...] = (account, contact_id)
        if table == "members":
            where += " AND list_id = ?"
            params += (list_id,)
        row = self._db.execute(f"SELECT seq FROM {table} WHERE {where}", params).fetchone()  # noqa: S608
        return int(row[0]) if row else None


def _contact(row: tuple[str, str, str, str, int, str, str]) -> Contact:
    contact_id, email, fields, custom, unsubscribed, created_at, updated_at = row
    return Contact(
        contact_id=contact_id,
        email=email,
        fields=json.loads(fields),
        custom=json.loads(custom),
        unsubscribed=bool(unsubscribed),
        created_at=created_at,
        updated_at=updated_at,
    )
