"""Staging: every accepted record's profile and memberships, deduplicated by email, kept on disk.

Profiles live in a temporary SQLite database rather than in memory, so a run's memory stays flat
whatever the number of profiles. SQLite ships with Python and merges a profile's fields in place
(`json_patch`: the last record wins per field).
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import msgspec

from target_autopilot import holdings
from target_autopilot.holdings import HeldContact
from target_autopilot.mapping import Contact
from target_autopilot.stagingdir import StagingDir

_SCHEMA = """
-- Narrow, so the plan's scans and counts read a few pages; `seq` (arrival order) is the rowid, so
-- reading in arrival order needs no sort. What is sent and what is written to the rejected file,
-- the wide part, is in `bodies`, by the same `seq`.
CREATE TABLE profiles (
    seq INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    unchanged INTEGER NOT NULL DEFAULT 0  -- 1: Autopilot already stores every field to send
);
CREATE TABLE bodies (seq INTEGER PRIMARY KEY, fields TEXT NOT NULL, record TEXT NOT NULL);
-- Keyed by email first: the plan looks memberships up per profile (by email), never by list alone.
CREATE TABLE memberships (list TEXT NOT NULL, email TEXT NOT NULL, PRIMARY KEY (email, list))
    WITHOUT ROWID;
-- What Autopilot holds: each list's members, and their stored fields (HeldContact JSON).
CREATE TABLE present (list TEXT NOT NULL, email TEXT NOT NULL, PRIMARY KEY (list, email))
    WITHOUT ROWID;
CREATE INDEX present_by_email ON present (email);
CREATE TABLE held (email TEXT PRIMARY KEY, fields TEXT NOT NULL) WITHOUT ROWID;
-- The lists this run mirrors (sync_mode: mirror), and people whose records were rejected in this run.
CREATE TABLE managed (list TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE kept (email TEXT PRIMARY KEY) WITHOUT ROWID;
-- Members of mirrored lists who are not in their segment (and were not rejected: they may still be).
CREATE VIEW leavers AS SELECT x.list, x.email FROM present x JOIN managed USING (list)
    WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.list = x.list AND m.email = x.email)
    AND x.email NOT IN kept;
-- Each membership with whether Autopilot holds it and whether the profile is unchanged.
CREATE VIEW diff AS SELECT m.list, m.email, p.seq, p.unchanged,
        EXISTS (SELECT 1 FROM present x WHERE x.list = m.list AND x.email = m.email) AS held
    FROM memberships m JOIN profiles p USING (email);
-- Profiles that need a request: a field to send, or a list they are not yet in.
-- Memberships Autopilot does not hold yet (the diff's `NOT held`, without its join to profiles).
CREATE VIEW lacking AS SELECT m.list, m.email FROM memberships m
    WHERE NOT EXISTS (SELECT 1 FROM present x WHERE x.list = m.list AND x.email = m.email);
CREATE VIEW work AS SELECT p.* FROM profiles p WHERE NOT p.unchanged
    OR EXISTS (SELECT 1 FROM lacking l WHERE l.email = p.email);
"""


_BATCH = 500  # records staged per write
# msgspec writes the same compact JSON as json.dumps(separators=(",", ":"), ensure_ascii=False) would
# (numbers may be spelled otherwise: 1e16 for 1e+16), about eight times faster: it runs for every record.
_FIELDS_JSON = msgspec.json.Encoder().encode


class StagedProfile:
    """A profile as staged: its number, email, the contact fields to send, and its last source record."""

    __slots__ = ("email", "fields", "record", "seq", "stream")

    def __init__(self, seq: int, email: str, fields: str, stream: str, record: str) -> None:
        self.seq = seq  # 1 for the first profile staged, then 2, ...: the report counts by it
        self.email = email
        self.fields = fields
        self.stream = stream
        self.record = record

    def contact_json(self, extra: str = "") -> str:
        """The contact object for Autopilot as JSON text, `Email` first, then `extra` members.

        `fields` is already compact JSON (from SQLite's json_patch or our encoder): splicing it
        avoids decoding and re-encoding every contact of every bulk request.
        """
        inner = self.fields[1:-1]
        return (
            f'{{"Email":{json.dumps(self.email, ensure_ascii=False)}{"," + inner if inner else ""}{extra}}}'
        )


class Staging:
    """The deduplicated profiles of a run and the lists each belongs to."""

    def __init__(self) -> None:
        self._dir = StagingDir()
        # check_same_thread=False: the SDK may call sinks from its drain threads; every use is
        # from one thread at a time (staging before apply, reading during apply's planning).
        self._connection = sqlite3.connect(Path(self._dir.path) / "staging.db", check_same_thread=False)
        self._connection.executescript(_SCHEMA)
        self._connection.execute("PRAGMA journal_mode=OFF")
        self._connection.execute("PRAGMA synchronous=OFF")
        self._connection.create_function("same_fields", 2, holdings.unchanged, deterministic=True)
        # Records staged but not yet written: a few statements per batch rather than per record.
        self._profiles: list[tuple[str, str]] = []
        self._bodies: list[tuple[str, str, str]] = []
        self._memberships: list[tuple[str, str]] = []

    @property
    def _db(self) -> sqlite3.Connection:
        """The database, with every record staged so far written to it."""
        if self._profiles:
            self._write_pending()
        return self._connection

    @property
    def profile_count(self) -> int:
        """How many distinct profiles are staged (their `seq` runs from 1 to this)."""
        return int(self._db.execute("SELECT coalesce(max(seq), 0) FROM profiles").fetchone()[0])

    def knows(self, email: str) -> bool:
        """Whether a profile with this email is staged."""
        row = self._db.execute("SELECT 1 FROM profiles WHERE email = ?", (email,)).fetchone()
        return row is not None

    def add(self, contact: Contact, lists: Sequence[str], stream: str, record: str) -> None:
        """Stage a record's contact (merged into its profile) and its memberships."""
        email = contact.email
        self._profiles.append((email, stream))
        self._bodies.append((email, _FIELDS_JSON(contact.fields).decode(), record))
        self._memberships += [(title, email) for title in lists]
        if len(self._profiles) >= _BATCH:
            self._write_pending()

    def _write_pending(self) -> None:
        # In arrival order, as one statement a record would: a new email gets the next seq (the
        # rowid), a known one keeps its own and has its fields merged (the last record wins per field).
        db = self._connection
        db.executemany(
            "INSERT INTO profiles (email, stream) VALUES (?, ?) "
            "ON CONFLICT (email) DO UPDATE SET stream = excluded.stream",
            self._profiles,
        )
        db.executemany(
            "INSERT INTO bodies (seq, fields, record) SELECT seq, ?2, ?3 FROM profiles WHERE email = ?1 "
            "ON CONFLICT (seq) DO UPDATE SET fields = json_patch(fields, excluded.fields), "
            "record = excluded.record",
            self._bodies,
        )
        db.executemany("INSERT OR IGNORE INTO memberships (list, email) VALUES (?, ?)", self._memberships)
        self._profiles, self._bodies, self._memberships = [], [], []

    def lists(self) -> list[str]:
        """The titles of every list that gets members, in name order."""
        return [row[0] for row in self._db.execute("SELECT DISTINCT list FROM memberships ORDER BY list")]

    def profiles_by_list(self) -> dict[str, int]:
        """How many profiles each list should hold after the run."""
        return dict(self._db.execute("SELECT list, count(*) FROM memberships GROUP BY list"))

    def keep(self, email: str) -> None:
        """Never count this person a leaver: a record of theirs was rejected in this run."""
        self._db.execute("INSERT OR IGNORE INTO kept (email) VALUES (?)", (email,))

    def mark_present(self, title: str, emails: Sequence[str]) -> None:
        """Record members a list already has in Autopilot."""
        self._db.executemany(
            "INSERT OR IGNORE INTO present (list, email) VALUES (?, ?)",
            [(title, held_email(email)) for email in emails],
        )

    def hold(self, title: str, contacts: Sequence[HeldContact]) -> None:
        """Record members a list has in Autopilot, with the fields Autopilot stores for them."""
        rows = [(held_email(contact.email), contact.to_json()) for contact in contacts]
        self._db.executemany(
            "INSERT OR IGNORE INTO present (list, email) VALUES (?, ?)", [(title, e) for e, _ in rows]
        )
        self._db.executemany("INSERT OR REPLACE INTO held (email, fields) VALUES (?, ?)", rows)

    def unhold(self, title: str) -> None:
        """Forget the members recorded for a list (they were read through a filter that did not work)."""
        self._db.execute("DELETE FROM present WHERE list = ?", (title,))

    def mark_unchanged(self) -> None:
        """Flag the profiles whose every field Autopilot already stores with an equal value."""
        self._db.execute(
            "UPDATE profiles SET unchanged = 1 WHERE seq IN (SELECT p.seq FROM profiles p "
            "JOIN held h USING (email) JOIN bodies b USING (seq) WHERE same_fields(b.fields, h.fields))"
        )

    def mark_stored(self, emails: Sequence[str]) -> None:
        """Record that Autopilot now stores these profiles as staged (they were just upserted)."""
        self._db.executemany("UPDATE profiles SET unchanged = 1 WHERE email = ?", [(e,) for e in emails])

    def set_managed(self, titles: Collection[str]) -> None:
        """The lists to mirror: their members who are not in their segment are leavers."""
        self._db.executemany("INSERT OR IGNORE INTO managed (list) VALUES (?)", [(t,) for t in titles])

    def segment_counts(self) -> dict[str, tuple[int, int, int]]:
        """Per list: (profiles it should hold, memberships to add, members with nothing to send)."""
        rows = self._db.execute(
            "SELECT list, count(*), sum(NOT held), sum(held AND unchanged) FROM diff GROUP BY list"
        )
        return {title: (total, missing, same) for title, total, missing, same in rows}

    def held_by_list(self) -> dict[str, int]:
        """How many members each list holds in Autopilot (as read, plus those written since)."""
        return dict(self._db.execute("SELECT list, count(*) FROM present GROUP BY list"))

    def leavers_by_list(self) -> dict[str, int]:
        """How many members of each managed list are not in its segment."""
        return dict(self._db.execute("SELECT list, count(*) FROM leavers GROUP BY list"))

    def leavers(self) -> Iterator[tuple[str, str]]:
        """(list, email) for every member of a managed list who is not in its segment."""
        yield from self._db.execute("SELECT list, email FROM leavers ORDER BY list, email")

    def decisions(self, prefix: str = "") -> Iterator[tuple[str, str, str, None, None]]:
        """(email, list, operation, no reason, no message) the plan decided for each membership and
        leaver, as the sync log stores them; `prefix` goes before each operation."""
        yield from self._db.execute(
            "SELECT email, list, :prefix || CASE WHEN NOT held THEN 'added' WHEN unchanged THEN 'unchanged' "
            "ELSE 'updated' END, NULL, NULL FROM diff "
            "UNION ALL SELECT email, list, :prefix || 'removed', NULL, NULL FROM leavers",
            {"prefix": prefix},
        )

    def examples(self, title: str, limit: int) -> dict[str, list[str]]:
        """Up to `limit` emails of each planned change to a list: to_add, to_update, unchanged, to_remove."""
        member = "SELECT email FROM diff WHERE list = ? AND held = ? AND unchanged = ? ORDER BY seq LIMIT ?"
        found = {
            category: [row[0] for row in self._db.execute(member, (title, held, same, limit))]
            for category, held, same in (("to_update", 1, 0), ("unchanged", 1, 1))
        }
        added = "SELECT email FROM diff WHERE list = ? AND NOT held ORDER BY seq LIMIT ?"
        removed = "SELECT email FROM leavers WHERE list = ? ORDER BY email LIMIT ?"
        return {
            "to_add": [row[0] for row in self._db.execute(added, (title, limit))],
            **found,
            "to_remove": [row[0] for row in self._db.execute(removed, (title, limit))],
        }

    def unchanged_count(self) -> int:
        """How many profiles need no request at all: unchanged and in every list they belong to."""
        row = self._db.execute(
            "SELECT count(*) FROM profiles p WHERE p.unchanged AND NOT EXISTS ("
            "SELECT 1 FROM lacking l WHERE l.email = p.email)"
        ).fetchone()
        return int(row[0])

    def missing_by_list(self) -> dict[str, int]:
        """How many memberships each list still lacks."""
        return dict(
            self._db.execute(
                "SELECT m.list, count(*) FROM memberships m WHERE NOT EXISTS ("
                "SELECT 1 FROM present x WHERE x.list = m.list AND x.email = m.email) GROUP BY m.list"
            )
        )

    def complete_count(self) -> int:
        """How many changed profiles already have every membership they need."""
        row = self._db.execute(
            "SELECT count(*) FROM profiles p WHERE NOT p.unchanged AND NOT EXISTS ("
            "SELECT 1 FROM memberships m WHERE m.email = p.email AND NOT EXISTS ("
            "SELECT 1 FROM present x WHERE x.list = m.list AND x.email = m.email))"
        ).fetchone()
        return int(row[0])

    def missing_memberships(self) -> Iterator[tuple[str, StagedProfile]]:
        """(list, profile) for every membership not yet present, by list, then arrival order."""
        # A list at a time, profiles in their (rowid) order: no sort of every profile's body.
        for title in self.lists():
            cursor = self._db.execute(
                "SELECT p.seq, p.email, b.fields, p.stream, b.record FROM profiles p "
                "JOIN memberships m ON m.email = p.email AND m.list = :list JOIN bodies b USING (seq) "
                "WHERE NOT EXISTS (SELECT 1 FROM present x WHERE x.list = :list AND x.email = p.email) "
                "ORDER BY p.seq",
                {"list": title},
            )
            for row in cursor:
                yield title, StagedProfile(*row)

    def profiles_missing_lists(self) -> Iterator[tuple[StagedProfile, list[str], bool]]:
        """Each profile lacking a membership, the lists it lacks, and whether it is unchanged."""
        cursor = self._db.execute(
            "SELECT p.seq, p.email, b.fields, p.stream, b.record, group_concat(m.list, char(31)), "
            "p.unchanged "
            "FROM profiles p JOIN memberships m ON m.email = p.email JOIN bodies b USING (seq) "
            "WHERE NOT EXISTS (SELECT 1 FROM present x WHERE x.list = m.list AND x.email = m.email) "
            "GROUP BY p.seq ORDER BY p.seq"
        )
        for seq, email, fields, stream, record, lists, same in cursor:
            yield StagedProfile(seq, email, fields, stream, record), sorted(lists.split("\x1f")), bool(same)

    def complete_profiles(self) -> Iterator[StagedProfile]:
        """Changed profiles already in every list they belong to (they need only an upsert)."""
        cursor = self._db.execute(
            "SELECT p.seq, p.email, b.fields, p.stream, b.record FROM profiles p JOIN bodies b USING (seq) "
            "WHERE NOT p.unchanged AND NOT EXISTS ("
            "SELECT 1 FROM memberships m WHERE m.email = p.email AND NOT EXISTS ("
            "SELECT 1 FROM present x WHERE x.list = m.list AND x.email = m.email)) ORDER BY p.seq"
        )
        for row in cursor:
            yield StagedProfile(*row)

    def people_to_send(self) -> Iterator[tuple[StagedProfile, list[str], list[str], list[str]]]:
        """Each profile that needs a request, in arrival order, with all its lists, those it is not
        yet in, and the managed lists it leaves (for an API that writes them all in one request)."""
        cursor = self._db.execute(
            "SELECT w.seq, w.email, b.fields, w.stream, b.record, "
            "(SELECT group_concat(list, char(31)) FROM memberships m WHERE m.email = w.email), "
            "(SELECT group_concat(list, char(31)) FROM lacking l WHERE l.email = w.email), "
            "(SELECT group_concat(list, char(31)) FROM leavers l WHERE l.email = w.email) "
            "FROM work w JOIN bodies b USING (seq) ORDER BY w.seq"
        )
        for seq, email, fields, stream, record, lists, missing, leaving in cursor:
            yield (
                StagedProfile(seq, email, fields, stream, record),
                _split(lists),
                _split(missing),
                _split(leaving),
            )

    def leavers_only(self) -> Iterator[tuple[str, list[str]]]:
        """(email, managed lists they leave) for each leaver who needs no other request."""
        cursor = self._db.execute(
            "SELECT email, group_concat(list, char(31)) FROM leavers "
            "WHERE NOT EXISTS (SELECT 1 FROM work w WHERE w.email = leavers.email) "
            "GROUP BY email ORDER BY email"
        )
        for email, lists in cursor:
            yield email, _split(lists)

    def send_counts(self) -> tuple[int, int]:
        """(profiles that need a request, leavers who need nothing else)."""
        work = self._db.execute("SELECT count(*) FROM work").fetchone()[0]
        only = self._db.execute(
            "SELECT count(DISTINCT email) FROM leavers l "
            "WHERE NOT EXISTS (SELECT 1 FROM work w WHERE w.email = l.email)"
        ).fetchone()[0]
        return int(work), int(only)

    def lists_of(self, email: str) -> list[str]:
        """The lists a staged profile belongs to."""
        rows = self._db.execute("SELECT list FROM memberships WHERE email = ? ORDER BY list", (email,))
        return [row[0] for row in rows]

    def close(self) -> None:
        """Drop the staging database."""
        self._connection.close()
        self._dir.cleanup()


def _split(lists: str | None) -> list[str]:
    return sorted(lists.split("\x1f")) if lists else []


def held_email(email: str) -> str:
    """An email read from Autopilot in the form staged emails take (trimmed, lower case, NFC)."""
    folded = email.strip().lower()
    return folded if folded.isascii() else unicodedata.normalize("NFC", folded)  # ASCII is NFC already
