"""The bad answers of recent runs on this machine, so back-to-back runs share one ban budget.

Ortto bans an IP address for 15 s after 15 bad requests in 15 s. A run that used most of that allowance
and ended (a failure, then Meltano's retry; two jobs back to back) would leave the next run free to earn
the ban. So each bad answer's wall-clock time is appended to a small file per API host under the user's
cache directory, and a new run's budget starts from the answers still inside the window. Runs at the same
moment do not see each other's answers as they come: each reads the file once, at its start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/target-autopilot`, else `~/.cache/target-autopilot`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "target-autopilot"


class BanLedger:
    """Wall-clock times of the recent bad answers of one API host."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_url(cls, api_url: str) -> BanLedger:
        """The ledger of the host (and port) `api_url` names."""
        netloc = urlsplit(api_url).netloc.rsplit("@", 1)[-1]
        name = re.sub(r"[^A-Za-z0-9.-]+", "_", netloc) or "default"
        return cls(cache_dir() / f"bad-answers-{name}.json")

    def recent(self, window: float) -> list[float]:
        """The recorded bad answers of the last `window` seconds, oldest first, as wall-clock times."""
        try:
            with self._locked() as file:
                return self._read(file, window)
        except OSError:  # no cache directory, or one we cannot write: the run keeps its own count
            return []

    def record(self, at: float, window: float) -> None:
        """Add one bad answer at wall-clock time `at`, dropping those older than `window` seconds."""
        with contextlib.suppress(OSError), self._locked() as file:
            kept = [*self._read(file, window), at]
            file.seek(0)
            file.truncate()
            file.write(json.dumps(kept))

    @staticmethod
    def _read(file: IO[str], window: float) -> list[float]:
        file.seek(0)
        try:
            times = json.loads(file.read() or "[]")
        except ValueError:
            return []
        cutoff = time.time() - window
        return sorted(t for t in times if isinstance(t, (int, float)) and t > cutoff)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "r+") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            yield file
