"""Per-account rate limiting over a sliding one-second window, as Autopilot's "5 r/s" limit."""

from __future__ import annotations

import threading
from collections import deque

WINDOW_SECONDS = 1.0


class RateLimiter:
    """Admits at most `limit` requests per account in any one-second window; refused ones don't count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, account: str, limit: int, now: float) -> int | None:
        """Admit a request at time `now`: the number admitted in the last second including it,
        or None when the limit is reached (limit 0 admits everything but still counts)."""
        with self._lock:
            window = self._admitted.setdefault(account, deque())
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            if limit and len(window) >= limit:
                return None
            window.append(now)
            return len(window)

    def reset(self) -> None:
        """Forget every admitted request."""
        with self._lock:
            self._admitted.clear()
