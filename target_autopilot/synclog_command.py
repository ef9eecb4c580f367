"""The `autopilot-sync-log` command: a person's history across runs (`why`), and the runs, from the log."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENV_PATH = "TARGET_AUTOPILOT_SYNC_LOG_PATH"
API_NAMES = {"classic": "Autopilot", "ortto": "Ortto"}
WORDS = {
    "classic": {
        "added": "added to list {s}",
        "updated": "updated, in list {s}",
        "unchanged": "unchanged, in list {s}",
        "removed": "removed from list {s}",
        "rejected": "rejected from list {s}",
        "value_dropped": "exported to list {s} without a value",
    },
    "ortto": {
        "added": "tagged {s}",
        "updated": "updated, tagged {s}",
        "unchanged": "unchanged, tagged {s}",
        "removed": "tag {s} removed",
        "rejected": "rejected, not tagged {s}",
        "value_dropped": "tagged {s} without a value",
    },
}
REASONS = {
    "invalid_email": "invalid email",
    "missing_email": "no email",
    "schema_violation": "the record does not match its stream's schema",
    "invalid_value": "invalid value",
    "invalid_segment": "invalid segment value",
    "missing_segment": "no segment",
    "profile_limit": "beyond max_profiles",
    "api_rejected": "refused by {api}",
    "suppressed": "suppressed in {api}",
    "membership_rejected": "{api} refused the membership",
    "removal_rejected": "{api} refused the removal",
}

_WHY = (
    "SELECT c.run_id, r.started_at, r.api, r.dry_run, r.status, c.email, c.segment, c.operation, "
    "c.reason, c.message FROM changes c JOIN runs r USING (run_id) WHERE c.email = ? "
    "AND (? IS NULL OR c.segment = ?) ORDER BY r.started_at DESC, r.rowid DESC, c.rowid"
)
_RUNS = (
    "SELECT run_id, started_at, finished_at, api, sync_mode, dry_run, status, records, profiles, "
    "requests FROM runs ORDER BY started_at DESC, rowid DESC"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (1 when `why` finds nothing, 2 for a usage error)."""
    args = _parser().parse_args(argv)
    path = args.log or os.environ.get(ENV_PATH)
    if not path:
        print(
            f"Which sync log? Give --log PATH (the target's sync_log_path setting) or set {ENV_PATH}.",
            file=sys.stderr,
        )
        return 2
    if not Path(path).is_file():
        print(f"No sync log at {path}: is sync_log_path set, and has a run used it yet?", file=sys.stderr)
        return 2
    db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        if args.command == "why":
            return _why(db, args.email.strip().lower(), args.segment, args.json, path)
        return _runs(db, args.json)
    except BrokenPipeError:  # `| head` stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        db.close()


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log", help=f"the sync log file (sync_log_path); default: ${ENV_PATH}")
    common.add_argument("--json", action="store_true", help="one JSON object per line")
    parser = argparse.ArgumentParser(
        prog="autopilot-sync-log", description="What target-autopilot's runs did, from its sync log."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    why = commands.add_parser("why", parents=[common], help="a person's history across runs, newest first")
    why.add_argument("email")
    why.add_argument("--segment", help="only this segment (list or tag)")
    commands.add_parser("runs", parents=[common], help="the runs with their counts, newest first")
    return parser


def _why(db: sqlite3.Connection, email: str, segment: str | None, as_json: bool, path: str) -> int:
    found = 0
    for row in db.execute(_WHY, (email, segment, segment)):
        found += 1
        entry = dict(row)
        entry["dry_run"] = bool(entry["dry_run"])
        text = describe(entry)
        print(json.dumps({**entry, "text": text}, ensure_ascii=False) if as_json else text)
    if not found and not as_json:
        where = f" in segment {segment!r}" if segment else ""
        print(
            f"No run in {path} decided anything about {email}{where} "
            "(runs older than keep_run_files are gone)."
        )
    return 0 if found else 1


def describe(entry: dict[str, Any]) -> str:
    """One change in plain words: "2026-12-01 run …: added to list Churn risk"."""
    api = entry["api"] if entry["api"] in WORDS else "classic"
    operation = str(entry["operation"])
    planned = operation.startswith("planned_")
    operation = operation.removeprefix("planned_")
    phrase = WORDS[api].get(operation, operation.replace("_", " ") + " {s}").format(s=entry["segment"])
    text = (
        f"{entry['started_at'][:10]} run {entry['run_id']}: {'dry run, planned: ' if planned else ''}{phrase}"
    )
    if entry["reason"]:
        reason = REASONS.get(entry["reason"], entry["reason"].replace("_", " "))
        text += ", " + reason.format(api=API_NAMES[api])
    if entry["message"]:
        text += f" ({entry['message']})"
    if entry["status"] == "failed":
        text += " [this run failed: not all of what it decided may have been applied]"
    elif entry["status"] == "running":
        text += " [this run did not finish]"
    return text


def _runs(db: sqlite3.Connection, as_json: bool) -> int:
    for row in db.execute(_RUNS).fetchall():
        run = dict(row)
        run["dry_run"] = bool(run["dry_run"])
        counts = db.execute(
            "SELECT operation, count(*) FROM changes WHERE run_id = ? GROUP BY operation ORDER BY operation",
            (run["run_id"],),
        )
        run["changes"] = dict(counts.fetchall())
        print(json.dumps(run, ensure_ascii=False) if as_json else _run_line(run))
    return 0


def _run_line(run: dict[str, Any]) -> str:
    finished = run["finished_at"] or "not finished"
    figures = (
        ""
        if run["records"] is None
        else f": {run['records']:,} records, {run['profiles']:,} profiles, {run['requests']:,} requests"
    )
    changes = ", ".join(f"{operation} {count:,}" for operation, count in run["changes"].items())
    mode = f"{run['api']}, {run['sync_mode']}{', dry run' if run['dry_run'] else ''}"
    status = "" if run["status"] == "running" else f"  {run['status']}"
    return (
        f"{run['run_id']}  {run['started_at']} → {finished}  ({mode}){status}{figures}"
        f"{'; ' + changes if changes else ''}"
    )


if __name__ == "__main__":
    sys.exit(main())
