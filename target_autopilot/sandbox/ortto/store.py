"""The Ortto state of every account (people, tags, custom fields, audiences, suppressed emails).

Plain dicts under one lock, like the Classic store; with `--db PATH` every change is written through
to the same SQLite file (table `ortto`, one JSON row per object) and read back on start. Handlers
check a whole request before they change anything, so there is nothing to roll back.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from target_autopilot.sandbox.ortto.fields import EMAIL, CustomField

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ortto (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (account, kind, key)
);
"""
_SAVE = (
    "INSERT INTO ortto (account, kind, key, data) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (account, kind, key) DO UPDATE SET data = excluded.data"
)
_counter = itertools.count(int.from_bytes(os.urandom(5), "big"))


def new_id() -> str:
    """A 24-hex id, ordered by time like Ortto's (`006913c5b70abf827f703c00`)."""
    return f"{int(time.time()):08x}{next(_counter):016x}"


_last_now: tuple[int, str] = (0, "")


def now_iso() -> str:
    """The current UTC time, RFC 3339 (formatted once a second: a merge of 100 asks 100 times)."""
    global _last_now  # noqa: PLW0603 - a cache; a race only formats the same second twice
    now = int(time.time())
    if _last_now[0] != now:
        _last_now = (now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
    return _last_now[1]


class OrttoStoreClosedError(RuntimeError):
    """The store was closed (the sandbox is stopping): no more reads or writes."""


@dataclass
class Person:
    """A stored person: field id → value, and tag names in the order they were applied."""

    person_id: str
    fields: dict[str, Any]
    tags: list[str]
    created_at: str
    updated_at: str


@dataclass
class Tag:
    """A person tag: its holders' ids (in order of tagging) → whether each has email permission (`bol::p`).

    Ids are small integers counted per tag type, as recorded: a person tag and an account tag can
    both be 1.
    """

    tag_id: int
    name: str
    created_at: str
    holders: dict[str, bool] = field(default_factory=dict)
    subscribers: int = 0
    last_used: str = ""

    def hold(self, person_id: str, subscribed: bool) -> None:
        """Add a holder, or note a holder's new permission."""
        before = self.holders.get(person_id)
        if before is not subscribed:
            self.holders[person_id] = subscribed
            self.subscribers += int(subscribed) - int(bool(before))

    def release(self, person_id: str) -> None:
        """Remove a holder, if it was one."""
        if self.holders.pop(person_id, False):
            self.subscribers -= 1


@dataclass(frozen=True)
class AccountTag:
    """An account (organization) tag: the sandbox keeps no accounts, only the tag and its count."""

    tag_id: int
    name: str
    created_at: str
    count: int = 0


# Every recorded account held an account tag beside its person tags, both with id 1.
FIRST_ACCOUNT_TAG = "My organization"


@dataclass
class Audience:
    """An audience whose entry filter is "has tag `tag`", with per-member subscription."""

    audience_id: str
    name: str
    tag: str
    created_at: str
    subscribed: dict[str, bool] = field(default_factory=dict)


def index_key(field_id: str, value: object) -> str:
    """How a merge key value is compared (emails ignore case)."""
    return str(value).lower() if field_id == EMAIL else str(value)


class OrttoAccount:
    """One account's data; every method runs under the store's lock."""

    def __init__(self, account: str, pending: list[tuple[str, str, str, object]] | None) -> None:
        self._account = account
        self._pending = pending
        self.people: dict[str, Person] = {}
        self.tags: dict[str, Tag] = {}
        self.account_tags: dict[str, AccountTag] = {
            FIRST_ACCOUNT_TAG: AccountTag(1, FIRST_ACCOUNT_TAG, now_iso())
        }
        self.fields: dict[str, CustomField] = {}
        self.audiences: dict[str, Audience] = {}
        self.suppressed: set[str] = set()
        self._indexes: dict[str, dict[str, str]] = {}

    def _persist(self, kind: str, key: str, data: object) -> None:
        """Queue a row for the file (the data is encoded when the transaction ends, under the lock)."""
        if self._pending is not None:
            self._pending.append((self._account, kind, key, data))

    def find(self, field_id: str, value: object) -> Person | None:
        """The person whose `field_id` holds `value` (the index is built on first use)."""
        index = self._indexes.get(field_id)
        if index is None:
            index = self._indexes[field_id] = {
                index_key(field_id, person.fields[field_id]): person.person_id
                for person in self.people.values()
                if person.fields.get(field_id) is not None
            }
        person_id = index.get(index_key(field_id, value))
        return None if person_id is None else self.people.get(person_id)

    def save(self, person: Person, previous: dict[str, Any] | None, untagged: list[str]) -> None:
        """Store a new or changed person (`previous`: its fields before), keeping indexes and holders."""
        self.people[person.person_id] = person
        for field_id, index in self._indexes.items():
            old = None if previous is None else previous.get(field_id)
            new = person.fields.get(field_id)
            if old is not None and old != new and index.get(index_key(field_id, old)) == person.person_id:
                del index[index_key(field_id, old)]
            if new is not None:
                index[index_key(field_id, new)] = person.person_id
        subscribed = bool(person.fields.get("bol::p"))
        for name in person.tags:
            self.tag(name).hold(person.person_id, subscribed)
            self.tags[name].last_used = person.updated_at
        for name in untagged:
            if name in self.tags:
                self.tags[name].release(person.person_id)
        self._persist("person", person.person_id, vars(person))

    def tag(self, name: str) -> Tag:
        """The tag with this name, created on first use."""
        tag = self.tags.get(name)
        if tag is None:
            number = max((known.tag_id for known in self.tags.values()), default=0) + 1
            tag = self.tags[name] = Tag(number, name, now_iso())
            self._persist("tag", name, {"tag_id": tag.tag_id, "name": name, "created_at": tag.created_at})
        return tag

    def tag_by_id(self, tag_id: object) -> Tag | None:
        """The person tag with this integer id (never an account tag, whose ids overlap)."""
        if not isinstance(tag_id, int) or isinstance(tag_id, bool):
            return None
        return next((tag for tag in self.tags.values() if tag.tag_id == tag_id), None)

    def add_account_tag(self, name: str, count: int) -> AccountTag:
        """Store an account tag (numbered among account tags only)."""
        known = self.account_tags.get(name)
        number = known.tag_id if known else max(t.tag_id for t in self.account_tags.values()) + 1
        tag = self.account_tags[name] = AccountTag(number, name, now_iso(), count)
        self._persist("account_tag", name, vars(tag))
        return tag

    def add_field(self, custom: CustomField) -> None:
        """Store a new custom field."""
        self.fields[custom.field_id] = custom
        self._persist("field", custom.field_id, custom.to_json())

    def add_audience(self, audience: Audience) -> None:
        """Store a new or changed audience."""
        self.audiences[audience.audience_id] = audience
        self._persist("audience", audience.audience_id, vars(audience))

    def suppress(self, email: str) -> None:
        """Put an email on the suppression list."""
        self.suppressed.add(email.lower())
        self._persist("suppressed", email.lower(), email.lower())

    def load(self, kind: str, data: Any) -> None:
        """Restore one persisted object."""
        if kind == "person":
            self.save(Person(**data), None, [])
        elif kind == "tag":
            if not isinstance(data["tag_id"], int):  # a file from before tag ids were integers
                data = {**data, "tag_id": max((t.tag_id for t in self.tags.values()), default=0) + 1}
            self.tags[data["name"]] = Tag(**data)
        elif kind == "account_tag":
            self.account_tags[data["name"]] = AccountTag(**data)
        elif kind == "field":
            self.fields[data["field_id"]] = CustomField(**{**data, "values": tuple(data["values"])})
        elif kind == "audience":
            self.audiences[data["audience_id"]] = Audience(**data)
        else:
            self.suppressed.add(data)


class OrttoStore:
    """Every account's Ortto data, one lock, optional SQLite write-through."""

    def __init__(self, db: str | None) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str, str, object]] = []
        self._accounts: dict[str, OrttoAccount] = {}
        self._db: sqlite3.Connection | None = None
        self._closed = False
        if db is not None:
            self._db = sqlite3.connect(db, check_same_thread=False, timeout=30)
            self._db.executescript(_SCHEMA)
            rows = self._db.execute("SELECT account, kind, data FROM ortto ORDER BY seq").fetchall()
            for account, kind, data in rows:
                self._account(account).load(kind, json.loads(data))
            self._pending.clear()

    def _account(self, account: str) -> OrttoAccount:
        data = self._accounts.get(account)
        if data is None:
            pending = None if self._db is None else self._pending
            data = self._accounts[account] = OrttoAccount(account, pending)
        return data

    @contextmanager
    def transaction(self, account: str) -> Iterator[OrttoAccount]:
        """The account's data under the lock; changes are written to the file at the end."""
        with self._lock:
            if self._closed:
                raise OrttoStoreClosedError("the Ortto store is closed")
            try:
                yield self._account(account)
            finally:
                self._flush()

    def _flush(self) -> None:
        if self._db is not None and self._pending:
            rows = [(account, kind, key, json.dumps(data)) for account, kind, key, data in self._pending]
            with self._db:
                self._db.executemany(_SAVE, rows)
        self._pending.clear()

    def clear(self) -> None:
        """Forget every account's data."""
        with self._lock:
            self._accounts.clear()
            if self._db is not None:
                with self._db:
                    self._db.execute("DELETE FROM ortto")

    def close(self) -> None:
        """No more reads or writes; close the file."""
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
