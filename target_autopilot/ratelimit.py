"""Thread-safe pacing shared by every request of a run: the rate limiter and the bad-request budget."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from target_autopilot.banledger import BanLedger

DEFAULT_MARGIN = 0.03
MAX_MARGIN = 0.5
MARGIN_STEP = 0.05
MIN_RATE = 0.5


class RateLimiter:
    """Lets at most `rate` requests start in any window of (1 + margin) seconds, evenly spaced.

    Autopilot counts requests per sliding second, when they reach it, not when they leave here.
    Spacing alone is not enough: a thread that wakes late bunches two requests together, and the
    way to the server delays some requests more than others. So the limiter remembers when the
    last `rate` requests really started and keeps the window of the oldest one `margin` longer
    than a second: 30 ms by default, for the scheduling and network jitter of a healthy link.
    Each 429 (`pause`) widens the margin by 50 ms, up to 0.5 s, so a run that meets more jitter
    than that stops meeting 429s after a few.

    With `slow_down` below 1 (Ortto, whose plan limits are unknown), each 429 also multiplies the
    rate by it for the rest of the run, so an account with a lower limit converges on it.
    """

    def __init__(self, rate: float, margin: float = DEFAULT_MARGIN, slow_down: float = 1.0) -> None:
        self.rate = rate
        self.initial_rate = rate
        self.slow_down = slow_down
        self._burst = max(1, int(rate))
        self._started: deque[float] = deque(maxlen=self._burst)
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._set_margin(margin)

    @property
    def margin(self) -> float:
        """How much longer than a second the window is, in seconds."""
        return self._window - 1.0

    def _set_margin(self, margin: float) -> None:
        self._window = 1.0 + margin
        self._interval = self._window / self.rate

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
        """Hold every request back for `seconds` (after a 429), and widen the window."""
        with self._lock:
            now = time.monotonic()
            if now >= self._paused_until:  # once per pause: requests in flight meet the same one
                self.rate = max(MIN_RATE, self.rate * self.slow_down)
                self._set_margin(min(MAX_MARGIN, self.margin + MARGIN_STEP))
            self._paused_until = max(self._paused_until, now + seconds)


class BadRequestBudget:
    """Keeps 4xx answers under `ban_after` in any `window` seconds (Ortto bans an IP for 15 s after
    15 bad requests in 15 s). A request in flight counts as possibly bad until it is answered, so
    isolating bad items, however many, never earns the ban: it only slows down."""

    def __init__(self, ban_after: int = 15, window: float = 16.0, ledger: BanLedger | None = None) -> None:
        self._allowed = ban_after - 1
        self._window = window
        self._ledger = ledger
        # Bad answers of earlier runs still inside the window count as this run's, on its own clock.
        offset = time.monotonic() - time.time()
        self._bad: deque[float] = deque(t + offset for t in (ledger.recent(window) if ledger else []))
        self._in_flight = 0
        self._ready = threading.Condition()

    def acquire(self) -> None:
        """Block until one more request cannot make the bad answers reach the ban."""
        with self._ready:
            while True:
                now = time.monotonic()
                while self._bad and self._bad[0] <= now - self._window:
                    self._bad.popleft()
                if len(self._bad) + self._in_flight < self._allowed:
                    self._in_flight += 1
                    return
                self._ready.wait(self._bad[0] + self._window - now if self._bad else None)

    def release(self, bad: bool) -> None:
        """The request was answered (or failed); `bad`: with a 4xx other than 429."""
        with self._ready:
            self._in_flight -= 1
            if bad:
                self._bad.append(time.monotonic())
                if self._ledger is not None:
                    self._ledger.record(time.time(), self._window)
            self._ready.notify_all()
