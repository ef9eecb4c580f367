"""Staging directories: private to their run, locked while it lives, removed by a later run once it is gone.

A run stages its profiles in a directory of its own in the temporary directory (`target-autopilot-*`,
mode 0700) and removes it when it ends. A run killed outright (SIGKILL, out of memory) cannot, and
its profiles would stay on disk. So each run holds an exclusive lock on a `lock` file in its
directory for as long as it lives (the kernel releases it when the process ends, however it ends),
and every run first removes this user's staging directories whose lock nobody holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import time

PREFIX = "target-autopilot-"
LOCK = "lock"
# A directory younger than this may belong to a run that has not taken its lock yet: left alone.
STARTING_SECONDS = 60
# A staging directory without a lock file (made by a version before the lock) is removed once nothing
# in it has changed for this long: a live run writes its staging database far more often than that.
UNLOCKED_SECONDS = 86_400


class StagingDir:
    """This run's staging directory, locked until `cleanup()` (or the end of the process)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix=PREFIX)
        self.path = self._dir.name
        self._lock = os.open(os.path.join(self.path, LOCK), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def cleanup(self) -> None:
        """Remove the directory and everything in it."""
        self._dir.cleanup()
        os.close(self._lock)


def sweep(directory: str | None = None, now: float | None = None) -> list[str]:
    """Remove this user's staging directories in `directory` (the temporary directory) left by runs
    that are gone; return their paths."""
    parent = tempfile.gettempdir() if directory is None else directory
    now = time.time() if now is None else now
    removed = []
    try:
        names = sorted(name for name in os.listdir(parent) if name.startswith(PREFIX))
    except OSError:
        return []
    for name in names:
        path = os.path.join(parent, name)
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to read: left alone
            if _left_behind(path, now):
                shutil.rmtree(path)
                removed.append(path)
    return removed


def _left_behind(path: str, now: float) -> bool:
    """Whether `path` is a staging directory of this user whose run is gone."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or now - info.st_mtime < STARTING_SECONDS:
        return False
    try:
        lock = os.open(os.path.join(path, LOCK), os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:  # no lock: staging only if it holds a staging database
        if not os.path.isfile(os.path.join(path, "staging.db")):
            return False
        inside = (entry.stat(follow_symlinks=False).st_mtime for entry in os.scandir(path))
        return now - max([info.st_mtime, *inside]) >= UNLOCKED_SECONDS
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its run holds it: alive
    finally:
        os.close(lock)
    return True
