"""The sync log (`sync_log_path`): what each run decided for every person and segment, in SQLite.

Three tables users build on: `runs`, `changes` (one row per person, segment and decision) and
`snapshot` (each person's latest state per segment). A run's row in `runs` is committed when the
run starts. Its changes are written as the run decides them into a temporary table of its own
connection (on disk, so memory stays flat) and moved into `changes` at its end, in one short
transaction (WAL journal): a killed run leaves a readable file, shows as not finished and adds no
half of its changes, and runs sharing one log wait for each other only while one of them ends.
The log is written, never read back by the target, except by SQL that stays inside SQLite.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

from target_autopilot.errors import ExportError
from target_autopilot.values import normalise_email

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
Row = tuple[str, str, str, "str | None", "str | None"]  # email, segment, operation, reason, message

# This run's changes until it ends, and what the API refused of them (in the connection's own
# temporary database: no other run sees or waits for them).
_RUN_TABLES = """
CREATE TEMP TABLE run_changes (email TEXT, segment TEXT, operation TEXT, reason TEXT, message TEXT);
CREATE TEMP TABLE run_refused (email TEXT, segment TEXT, reason TEXT, message TEXT);
CREATE INDEX temp.run_refused_by_person ON run_refused (email, segment);
"""
_INSERT = "INSERT INTO temp.run_changes VALUES (?, ?, ?, ?, ?)"
# A refusal replaces what the plan decided for that person and segment. Rows go in by email: inserting
# them in the order of `changes_by_email` is several times faster on a log that already holds runs.
_MOVE = """
INSERT INTO changes (run_id, email, segment, operation, reason, message)
SELECT :run, email, segment, operation, reason, message FROM (
    SELECT email, segment, operation, reason, message, rowid AS arrival FROM temp.run_changes c
    WHERE c.operation NOT IN ('added', 'updated', 'removed')
        OR NOT EXISTS (SELECT 1 FROM temp.run_refused f WHERE f.email = c.email AND f.segment = c.segment)
    UNION ALL
    SELECT email, segment, 'rejected', reason, message, NULL FROM temp.run_refused GROUP BY email, segment
) ORDER BY email, segment, arrival IS NULL, arrival
"""


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
        self.rows = 0  # this run's changes
        self.seconds = 0.0  # time the run spent logging (its cost, told in the run's log)
        self._rows: list[Row] = []
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def start(self, api: str, sync_mode: str, dry_run: bool) -> None:
        """Open the file (created 0600), drop runs older than `keep_days`, and record this run."""
        with self._timed():
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
                if self.keep_days:  # 0 keeps every run
                    self._forget_old_runs(db)
                db.execute(
                    "INSERT INTO runs (run_id, started_at, api, sync_mode, dry_run, status) "
                    "VALUES (?, ?, ?, ?, ?, 'running')",
                    (self.run_id, now(), api, sync_mode, int(dry_run)),
                )
                db.execute("COMMIT")
                db.executescript(_RUN_TABLES)

    def rejected(self, email: str, segments: Iterable[str], reason: str, message: str) -> None:
        """A record of this person was not exported to these segments."""
        with self._timed():
            self._add([(email, segment, "rejected", reason, message) for segment in segments])

    def dropped(self, email: str, segments: Iterable[str], message: str) -> None:
        """A value was left out of this person's exported record."""
        with self._timed():
            self._add([(email, segment, "value_dropped", "invalid_value", message) for segment in segments])

    def planned(self, decisions: Callable[[str], Iterable[Row]]) -> None:
        """The plan's rows, streamed straight from `decisions(prefix)`: `planned_*` in a dry run."""
        with self._timed(), self._lock:
            db = self._flush()
            if db is not None:
                cursor = db.executemany(_INSERT, decisions("planned_" if self.dry_run else ""))
                self.rows += cursor.rowcount

    def refused(self, email: str, segments: Iterable[str], reason: str, message: str) -> None:
        """The API refused what the plan decided for this person in these segments."""
        with self._timed(), self._lock:
            if self._db is not None:
                rows = [(email, segment, reason, message) for segment in segments]
                self._db.executemany("INSERT INTO temp.run_refused VALUES (?, ?, ?, ?)", rows)

    def finish(self, status: str, records: int, profiles: int, requests: int) -> None:
        """Move the run's changes into `changes` and record its end; a completed real run updates
        `snapshot`. One transaction."""
        with self._timed(), self._lock:
            db = self._flush()
            if db is None:
                return
            db.execute("BEGIN IMMEDIATE")
            db.execute(_MOVE, {"run": self.run_id})
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, records = ?, profiles = ?, requests = ? "
                "WHERE run_id = ?",
                (now(), status, records, profiles, requests, self.run_id),
            )
            if status == "completed" and not self.dry_run:
                db.execute(_SNAPSHOT, {"run": self.run_id})
            db.execute("COMMIT")
            self._close()

    def _forget_old_runs(self, db: sqlite3.Connection) -> None:
        old = "SELECT run_id FROM runs WHERE started_at < datetime('now', ?)"
        cutoff = (f"-{self.keep_days} days",)
        db.execute(f"DELETE FROM changes WHERE run_id IN ({old})", cutoff)  # noqa: S608 - our own SQL
        db.execute(f"DELETE FROM snapshot WHERE last_run IN ({old})", cutoff)  # noqa: S608
        db.execute("DELETE FROM runs WHERE started_at < datetime('now', ?)", cutoff)

    def close(self) -> None:
        """Close; a run that did not finish leaves its row (not finished) and none of its changes."""
        with self._lock:
            self._close()

    @contextmanager
    def _timed(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started

    def _add(self, rows: Sequence[Row]) -> None:
        with self._lock:
            self._rows += rows
            if len(self._rows) >= _FLUSH_ROWS:
                self._flush()

    def _flush(self) -> sqlite3.Connection | None:
        if self._db is not None and self._rows:
            self._db.executemany(_INSERT, self._rows)
            self.rows += len(self._rows)
        self._rows = []
        return self._db

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()  # its temporary tables go with it
            self._db = None


def _connect(path: str) -> sqlite3.Connection:
    """The log's connection, the file created readable by its owner only, in WAL mode."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)  # whatever the umask, and a file from elsewhere
    # isolation_level=None: transactions are begun and committed here, explicitly.
    # A run waits up to 10 minutes for another that shares the log to end.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=600)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-1024")  # 1 MiB: the log must add nothing to a run's peak memory
    db.execute("PRAGMA temp_store=FILE")  # the run's rows wait on disk, not in memory
    db.executescript(SCHEMA)
    return db
