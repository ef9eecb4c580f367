"""One thread-safe rate limiter shared by every request of a run."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """Lets at most `rate` requests start in any window of (1 + margin) seconds, evenly spaced.

    Autopilot counts requests per sliding second. Spacing alone is not enough: a thread that wakes
    late bunches two requests together. So the limiter also remembers when the last `rate`
    requests really started and keeps the window of the oldest one `margin` longer than a second.
    """

    def __init__(self, rate: float, margin: float = 0.03) -> None:
        self.rate = rate
        self._interval = (1.0 + margin) / rate
        self._window = 1.0 + margin
        self._burst = max(1, int(rate))
        self._started: deque[float] = deque(maxlen=self._burst)
        self._lock = threading.Lock()
        self._paused_until = 0.0

    def acquire(self) -> None:
        """Block until a request may start, and count it as started."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._paused_until)
            if self._started:
                start = max(start, self._started[-1] + self._interval)
            if len(self._started) == self._burst:
                start = max(start, self._started[0] + self._window)
            if start > now:
                time.sleep(start - now)
            self._started.append(time.monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (after a 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
