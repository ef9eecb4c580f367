"""Waiting for something to happen without timing it: poll until a deadline that only load can reach."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(check: Callable[[], T], what: str, *, timeout: float = 30.0) -> T:
    """Call `check` until it returns something truthy, and return that; fail saying `what` never came."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.02)
    return found


def in_one_second(burst: Callable[[], T], *, again: Callable[[], None], timeout: float = 60.0) -> T:
    """What `burst` returned the first time all its requests fell within one second, so that a rate
    limit's one-second window saw them all. A busy machine can spread a burst over two windows: then
    `again` puts the sandbox back as it was before the burst (empty windows, stats from zero) and the
    burst runs again."""
    deadline = time.monotonic() + timeout
    while True:
        started = time.monotonic()
        result = burst()
        if time.monotonic() - started < 0.9:
            return result
        assert time.monotonic() < deadline, f"no burst fitted in one second within {timeout:g} s"
        again()
