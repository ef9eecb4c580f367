"""Helpers for sync log tests: run `autopilot-sync-log` as a user would, and read the log's tables."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

COMMAND = str(Path(sys.executable).with_name("autopilot-sync-log"))


def sync_log(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `autopilot-sync-log` command."""
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=60, check=False)


def why(log: Path, email: str, *more: str) -> list[str]:
    """The lines `autopilot-sync-log why` prints."""
    done = sync_log("why", email, "--log", str(log), *more)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def table(log: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query a user would run on the log with any SQL tool."""
    db = sqlite3.connect(log)
    try:
        with db:  # commits a change
            return db.execute(sql, params).fetchall()
    finally:
        db.close()


def run_ids(log: Path) -> list[str]:
    """The runs' ids as `autopilot-sync-log runs` lists them, newest first."""
    done = sync_log("runs", "--json", "--log", str(log))
    assert done.returncode == 0, done.stderr
    return [run["run_id"] for run in json_lines(done.stdout)]
