"""Per-run output files: each run writes its own, and the configured path links to the latest one.

`autopilot-rejected.jsonl` configured → this run writes `autopilot-rejected.20261129T080500Z-4242.jsonl`
beside it, and `autopilot-rejected.jsonl` becomes a symbolic link to that file. A run with nothing to
write leaves the link where it was, so the previous run's records are never overwritten.
"""

from __future__ import annotations

import os
import time


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
