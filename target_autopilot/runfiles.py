"""Per-run output files: each run writes its own, and the configured path links to the latest one.

`autopilot-rejected.jsonl` configured → this run writes `autopilot-rejected.20261129T080500Z-4242.jsonl`
beside it, and `autopilot-rejected.jsonl` becomes a symbolic link to that file. A run with nothing to
write leaves the link where it was, so the previous run's records are never overwritten.
"""

from __future__ import annotations

import calendar
import logging
import os
import re
import time

_RUN_ID = re.compile(r"(\d{8}T\d{6}Z)-(?:\d+|earlier)")
DAY = 86_400


def new_run_id() -> str:
    """The run's UTC start time and process id: unique, and sorted by time."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"


def run_path(path: str, run_id: str) -> str:
    """`dir/name.<run id>.ext` for the configured `dir/name.ext`."""
    directory, name = os.path.split(path)
    stem, dot, ext = name.rpartition(".")
    named = f"{stem}.{run_id}.{ext}" if dot and stem else f"{name}.{run_id}"
    return os.path.join(directory, named)


def link_latest(path: str, target: str) -> None:
    """Make `path` a relative symbolic link to `target` (in the same directory), atomically.

    A regular file at `path` (written by an earlier version) is kept: it is renamed after its
    modification time first.
    """
    if os.path.isfile(path) and not os.path.islink(path):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(os.path.getmtime(path)))
        os.replace(path, run_path(path, f"{stamp}-earlier"))
    partial = f"{path}.{os.getpid()}.link"
    os.symlink(os.path.basename(target), partial)
    os.replace(partial, path)


def remove_old(path: str, days: int, now: float | None = None) -> list[str]:
    """Delete this target's per-run files of `path` (`name.<run id>.ext` beside it) started more than
    `days` days ago; return their paths. Nothing else is touched; `days` 0 keeps every file.

    A link at `path` left pointing at a deleted file is removed too.
    """
    if days <= 0:
        return []
    directory, name = os.path.split(path)
    stem, dot, ext = name.rpartition(".")
    pattern = (
        re.compile(rf"{re.escape(stem)}\.{_RUN_ID.pattern}\.{re.escape(ext)}")
        if dot and stem
        else re.compile(rf"{re.escape(name)}\.{_RUN_ID.pattern}")
    )
    oldest = (time.time() if now is None else now) - days * DAY
    removed = []
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return []
    for candidate in sorted(names):
        match = pattern.fullmatch(candidate)
        if match is None:
            continue
        started = calendar.timegm(time.strptime(match.group(1), "%Y%m%dT%H%M%SZ"))
        full = os.path.join(directory, candidate)
        if started < oldest and os.path.isfile(full) and not os.path.islink(full):
            os.remove(full)
            removed.append(full)
    if os.path.islink(path) and not os.path.exists(path):
        os.remove(path)
    return removed


def remove_old_files(paths: tuple[str | None, ...], days: int, logger: logging.Logger) -> None:
    """`remove_old` for each configured path, saying how many files went."""
    for path in filter(None, paths):
        removed = remove_old(path, days)
        if removed:
            logger.info("Deleted %d run files of %s (keep_run_files: %d days)", len(removed), path, days)
