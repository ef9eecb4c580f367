"""The Classic store's SQLite file (`--db PATH`): its schema, the writes, reading it back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from target_autopilot.sandbox.classic.records import Contact, ContactList

# `seq` is the rowid: it orders contacts by creation and members by joining. Plain rowids (no
# AUTOINCREMENT, which costs a table update per insert) only reuse the largest value once its row
# is gone, so a new row still sorts after every remaining one.
SCHEMA = """
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
TABLES = ("contacts", "lists", "members", "custom_fields")
SAVE_CONTACT = (
    "INSERT INTO contacts (account, contact_id, email, email_key, fields, custom,"
    " unsubscribed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (account, contact_id) DO UPDATE SET email = excluded.email,"
    " email_key = excluded.email_key, fields = excluded.fields, custom = excluded.custom,"
    " unsubscribed = excluded.unsubscribed, updated_at = excluded.updated_at"
)
ADD_MEMBER = "INSERT OR IGNORE INTO members (account, list_id, contact_id) VALUES (?, ?, ?)"

Row = tuple[object, ...]
Statements = list[tuple[str, list[Row]]]


def open_file(path: str) -> sqlite3.Connection:
    """Open (or create) the file, in autocommit mode with write-ahead logging."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


def write_through(db: sqlite3.Connection, statements: Statements) -> None:
    """Run one store transaction's statements in one SQLite transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in statements:
            db.executemany(sql, rows)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def saved_fields(db: sqlite3.Connection) -> Iterator[tuple[str, str, str]]:
    """(account, name, field type) of every custom field, in creation order."""
    yield from db.execute("SELECT account, name, field_type FROM custom_fields ORDER BY seq")


def saved_lists(db: sqlite3.Connection) -> Iterator[tuple[str, ContactList]]:
    """(account, list) of every list, in creation order."""
    for account, list_id, title in db.execute("SELECT account, list_id, title FROM lists ORDER BY seq"):
        yield account, ContactList(list_id, title)


def saved_contacts(db: sqlite3.Connection) -> Iterator[tuple[str, Contact]]:
    """(account, contact) of every contact, in creation order."""
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
        yield account, contact


def saved_members(db: sqlite3.Connection) -> Iterator[tuple[str, str, str]]:
    """(account, list id, contact id) of every membership, in order of joining."""
    yield from db.execute("SELECT account, list_id, contact_id FROM members ORDER BY seq")


def contact_row(account: str, contact: Contact) -> Row:
    """A contact as a row of SAVE_CONTACT."""
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
