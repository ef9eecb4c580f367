"""The sync log (`sync_log_path`): what each run decided for every person and segment, in SQLite.

Three tables users build on: `runs`, `changes` (one row per person, segment and decision) and
`snapshot` (each person's latest state per segment). A run's row in `runs` is committed when the
run starts; its changes arrive as the run decides them and are committed with its end, in one
transaction (WAL journal), so a killed run leaves a readable file, shows as not finished and adds
no half of its changes. The log is written, never read back by the target, except by SQL that
stays inside SQLite (retention, the snapshot).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from itertools import islice

from target_autopilot.errors import ExportError
from target_autopilot.mapping import normalise_email

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, api TEXT NOT NULL,
    sync_mode TEXT NOT NULL, dry_run INTEGER NOT NULL, status TEXT NOT NULL,
    records INTEGER, profiles INTEGER, requests INTEGER
);
CREATE TABLE IF NOT EXISTS changes (
    run_id TEXT NOT NULL, email TEXT NOT NULL, segment TEXT NOT NULL, operation TEXT NOT NULL,
    reason TEXT, message TEXT
);
CREATE INDEX IF NOT EXISTS changes_by_email ON changes (email, segment, run_id);
CREATE INDEX IF NOT EXISTS changes_by_run ON changes (run_id);
CREATE TABLE IF NOT EXISTS snapshot (
    email TEXT NOT NULL, segment TEXT NOT NULL, state TEXT NOT NULL, since_run TEXT NOT NULL,
    last_run TEXT NOT NULL, PRIMARY KEY (email, segment)
) WITHOUT ROWID;
"""

# Each person's state per segment after a completed real run. Of the run's decisions about a
# person and segment, membership wins over leaving, and leaving over a rejection (a person with one
# exported record and one rejected record is a member).
_SNAPSHOT = """
INSERT INTO snapshot (email, segment, state, since_run, last_run)
SELECT email, segment,
    CASE min(CASE operation WHEN 'removed' THEN 2 WHEN 'rejected' THEN 3 ELSE 1 END)
        WHEN 1 THEN 'member' WHEN 2 THEN 'left' ELSE 'rejected' END,
    :run, :run
FROM changes WHERE run_id = :run AND operation IN ('added', 'updated', 'unchanged', 'removed', 'rejected')
GROUP BY email, segment
ON CONFLICT (email, segment) DO UPDATE SET
    since_run = CASE WHEN snapshot.state = excluded.state THEN snapshot.since_run ELSE excluded.since_run END,
    state = excluded.state, last_run = excluded.last_run
"""

_FLUSH_ROWS = 1_000
Row = tuple[str, str, str, str, "str | None", "str | None"]  # a `changes` row


_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")


def person_of(raw: object) -> str | None:
    """Who the log files a rejected record under: its valid address, or a valid one written inside
    its email value ("Ann Lee <ann@example.com>"), or else the value as written (trimmed, lower case)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    for candidate in (raw, *_ADDRESS.findall(raw)):
        email = normalise_email(candidate)
        if email is not None:
            return email
    return raw.strip().lower()


def now() -> str:
    """UTC now in SQLite's own format (to the millisecond), so `datetime('now', '-7 days')` compares
    with it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class SyncLog:
    """Appends one run to the log: its row, then its changes as they are decided, then its end."""

    def __init__(self, path: str, run_id: str, keep_days: int) -> None:
        self.path = path
        self.run_id = run_id
        self.keep_days = keep_days
        self.dry_run = False
        self._rows: list[Row] = []
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def start(self, api: str, sync_mode: str, dry_run: bool) -> None:
        """Open the file (created 0600), drop runs older than `keep_days`, and record this run."""
        self.dry_run = dry_run
        try:
            self._db = _connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise ExportError(
                f"sync_log_path {self.path!r} cannot be written ({exc}): point it at a file this user "
                "may create, or remove the setting. Nothing was sent to Autopilot."
            ) from None
        db = self._db
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            old = "SELECT run_id FROM runs WHERE started_at < datetime('now', ?)"
            cutoff = (f"-{self.keep_days} days",)
            db.execute(f"DELETE FROM changes WHERE run_id IN ({old})", cutoff)  # noqa: S608 - our own SQL
            db.execute(f"DELETE FROM snapshot WHERE last_run IN ({old})", cutoff)  # noqa: S608
            db.execute("DELETE FROM runs WHERE started_at < datetime('now', ?)", cutoff)
            db.execute(
                "INSERT INTO runs (run_id, started_at, api, sync_mode, dry_run, status) "
                "VALUES (?, ?, ?, ?, ?, 'running')",
                (self.run_id, now(), api, sync_mode, int(dry_run)),
            )
            db.execute("COMMIT")
            db.execute("BEGIN")  # the run's changes: committed with its end, or not at all

    def rejected(self, email: str, segments: Iterable[str], reason: str, message: str) -> None:
        """A record of this person was not exported to these segments."""
        self._add([(self.run_id, email, segment, "rejected", reason, message) for segment in segments])

    def dropped(self, email: str, segments: Iterable[str], message: str) -> None:
        """A value was left out of this person's exported record."""
        rows = [(self.run_id, email, s, "value_dropped", "invalid_value", message) for s in segments]
        self._add(rows)

    def planned(self, decisions: Iterable[tuple[str, str, str]]) -> None:
        """The plan's (email, segment, operation) rows, streamed: `planned_*` in a dry run."""
        prefix = "planned_" if self.dry_run else ""
        rows = ((self.run_id, email, segment, prefix + op, None, None) for email, segment, op in decisions)
        while chunk := list(islice(rows, _FLUSH_ROWS)):
            self._add(chunk)

    def refused(self, email: str, segments: Iterable[str], reason: str, message: str) -> None:
        """The API refused what the plan decided for this person in these segments."""
        with self._lock:
            db = self._flush()
            if db is None:
                return
            for segment in segments:
                changed = db.execute(
                    "UPDATE changes SET operation = 'rejected', reason = ?, message = ? WHERE email = ? "
                    "AND segment = ? AND run_id = ? AND operation IN ('added', 'updated', 'removed')",
                    (reason, message, email, segment, self.run_id),
                ).rowcount
                if not changed:
                    self._rows.append((self.run_id, email, segment, "rejected", reason, message))

    def finish(self, status: str, records: int, profiles: int, requests: int) -> None:
        """Record the run's end; a completed real run updates `snapshot`. Commits the run."""
        with self._lock:
            db = self._flush()
            if db is None:
                return
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, records = ?, profiles = ?, requests = ? "
                "WHERE run_id = ?",
                (now(), status, records, profiles, requests, self.run_id),
            )
            if status == "completed" and not self.dry_run:
                db.execute(_SNAPSHOT, {"run": self.run_id})
            db.execute("COMMIT")
            self._close()

    def close(self) -> None:
        """Close; a run that did not finish leaves its row (not finished) and none of its changes."""
        with self._lock:
            self._close()

    def _add(self, rows: Sequence[Row]) -> None:
        with self._lock:
            self._rows += rows
            if len(self._rows) >= _FLUSH_ROWS:
                self._flush()

    def _flush(self) -> sqlite3.Connection | None:
        if self._db is not None and self._rows:
            self._db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)", self._rows)
        self._rows = []
        return self._db

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()  # an open transaction is rolled back
            self._db = None


def _connect(path: str) -> sqlite3.Connection:
    """The log's connection, the file created readable by its owner only, in WAL mode."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)  # whatever the umask, and a file from elsewhere
    # isolation_level=None: transactions are begun and committed here, explicitly.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-1024")  # 1 MiB: the log must add nothing to a run's peak memory
    db.executescript(SCHEMA)
    return db
