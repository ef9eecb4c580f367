"""Ortto's bad-request limiter: 15 bad requests in 15 s earn the client (its IP) a 15 s ban."""

from __future__ import annotations

import threading
from collections import deque

BAD_REQUESTS = 15
WINDOW_SECONDS = 15.0
BAN_SECONDS = 15.0


class BadRequestBan:
    """Counts each client's 4xx answers (429s aside) and bans a client that gets too many."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bad: dict[str, deque[float]] = {}
        self._until: dict[str, float] = {}

    def seconds_left(self, client: str, now: float) -> float:
        """How long the client's ban still lasts (0: not banned)."""
        with self._lock:
            return max(0.0, self._until.get(client, 0.0) - now)

    def note_bad(self, client: str, now: float) -> None:
        """Count a bad request; the fifteenth within the window starts a ban."""
        with self._lock:
            window = self._bad.setdefault(client, deque())
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            window.append(now)
            if len(window) >= BAD_REQUESTS:
                self._until[client] = now + BAN_SECONDS
                window.clear()

    def reset(self) -> None:
        """Lift every ban and forget every count."""
        with self._lock:
            self._bad.clear()
            self._until.clear()
