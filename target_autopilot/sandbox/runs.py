"""Runs read from the request log: an account's API requests with no pause over the gap form one run.

The sandbox cannot see where a client's run starts, only its requests. When an account's request
comes after a pause longer than the gap (`run_gap_seconds`), or is its first, a new run starts, and the
members of every list and tag are noted then, by id (a set of ids costs no read of a person):
a run's changes are the difference between the members at its start and at the next run's start
(or now, for the latest run).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RUNS_KEPT = 20

# ("list", list id) → its members' contact ids; ("tag", tag name) → its holders' person ids.
Members = dict[tuple[str, str], frozenset[str]]


@dataclass
class Run:
    """One run of one account: when, how many requests, to which APIs, and who was in what at its start."""

    started: str
    before: Members
    requests: int = 0
    apis: list[str] = field(default_factory=list)
    last_seen: float = 0.0


@dataclass(frozen=True)
class Change:
    """Who joined and who left (their ids) one list or tag during a run."""

    kind: str  # "list" or "tag"
    key: str  # the list's id, the tag's name
    joined: list[str]
    left: list[str]


class RunLog:
    """Every account's latest runs, and which APIs it was used with, first used first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, list[Run]] = {}
        self._apis: dict[str, list[str]] = {}

    def reset(self) -> None:
        """Forget every run."""
        with self._lock:
            self._runs.clear()
            self._apis.clear()

    def note(self, account: str, api: str, gap: float, members: Callable[[], Members]) -> None:
        """Count a request about to be handled; a new run notes the members before it changes any."""
        now = time.monotonic()
        with self._lock:
            apis = self._apis.setdefault(account, [])
            if api not in apis:
                apis.append(api)
            runs = self._runs.setdefault(account, [])
            if not runs or now - runs[-1].last_seen > gap:
                runs.append(Run(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), members()))
                del runs[:-RUNS_KEPT]
            run = runs[-1]
            run.requests += 1
            run.last_seen = now
            if api not in run.apis:
                run.apis.append(api)

    def apis(self, account: str) -> list[str]:
        """The APIs the account was used with, first used first."""
        with self._lock:
            return list(self._apis.get(account, []))

    def changes(self, account: str, now: Members) -> list[tuple[Run, list[Change]]]:
        """Each kept run, latest first, with its lists' and tags' changes (`now`: the members now)."""
        with self._lock:
            runs = list(self._runs.get(account, []))
        afters = [run.before for run in runs[1:]] + [now]
        found = [(run, _diff(run.before, after)) for run, after in zip(runs, afters, strict=True)]
        return found[::-1]


def _diff(before: Members, after: Members) -> list[Change]:
    changes = []
    for kind, key in dict.fromkeys([*before, *after]):
        old, new = before.get((kind, key), frozenset()), after.get((kind, key), frozenset())
        if old != new:
            changes.append(Change(kind, key, sorted(new - old), sorted(old - new)))
    return sorted(changes, key=lambda change: change.kind)  # lists, then tags
