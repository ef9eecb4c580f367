"""Request statistics for the control API: counts, peak rate, bulk sizes, faults, latest requests."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass

RECENT_LIMIT = 50


@dataclass(frozen=True)
class RequestRecord:
    """One answered (or dropped) API request."""

    at: str
    account: str | None
    method: str
    path: str
    template: str
    status: str
    duration_ms: float
    fault: str | None
    api: str = "classic"


class Stats:
    """Thread-safe counters over API requests (control API requests are never counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._by_endpoint: dict[str, Counter[str]] = {}
            self._by_status: Counter[str] = Counter()
            self._peak: dict[str, int] = {}
            self._batch_sizes: dict[str, Counter[int]] = {"bulk_sizes": Counter(), "merge_sizes": Counter()}
            self._by_api: Counter[str] = Counter()
            self._faults: dict[str, Counter[str]] = {}
            self._rate_limited = 0
            self._recent: deque[RequestRecord] = deque(maxlen=RECENT_LIMIT)
            self._max_in_flight = self._in_flight  # requests being answered still count

    def record(self, record: RequestRecord) -> None:
        """Count an answered request."""
        with self._lock:
            endpoint = f"{record.method} {record.template}"
            self._by_endpoint.setdefault(endpoint, Counter())[record.status] += 1
            self._by_status[record.status] += 1
            self._by_api[record.api] += 1
            self._recent.append(record)

    def started(self) -> None:
        """Note an API request being answered (for the most answered at once)."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def finished(self) -> None:
        """Note an API request answered."""
        with self._lock:
            self._in_flight -= 1

    def admitted(self, account: str, in_window: int) -> None:
        """Note how many requests of the account the last second admitted (for the peak rate)."""
        with self._lock:
            self._peak[account] = max(self._peak.get(account, 0), in_window)

    def rate_limited(self) -> None:
        """Count a 429 answered by the rate limiter."""
        with self._lock:
            self._rate_limited += 1

    def bulk(self, size: int, kind: str = "bulk_sizes") -> None:
        """Count a batch of `size`: Classic bulk upserts ("bulk_sizes"), Ortto merges ("merge_sizes")."""
        with self._lock:
            self._batch_sizes[kind][size] += 1

    def fault(self, kind: str, *, after_apply: bool) -> None:
        """Count an injected fault."""
        with self._lock:
            when = "after_apply" if after_apply else "before_apply"
            self._faults.setdefault(kind, Counter())[when] += 1

    def recent(self) -> list[RequestRecord]:
        """The latest requests, oldest first."""
        with self._lock:
            return list(self._recent)

    def snapshot(self) -> dict[str, object]:
        """Everything counted so far, as JSON-ready data."""
        with self._lock:
            return {
                "requests_total": sum(self._by_status.values()),
                "by_endpoint": {key: dict(value) for key, value in self._by_endpoint.items()},
                "by_status": dict(self._by_status),
                "rate_limited": self._rate_limited,
                "max_requests_in_one_second": dict(self._peak),
                "max_requests_at_once": self._max_in_flight,
                "by_api": dict(self._by_api),
                **{
                    kind: {str(size): n for size, n in sorted(sizes.items())}
                    for kind, sizes in self._batch_sizes.items()
                },
                "faults": {
                    "total": sum(sum(c.values()) for c in self._faults.values()),
                    "by_kind": {kind: dict(counts) for kind, counts in self._faults.items()},
                },
                "recent_requests": [asdict(record) for record in self._recent],
            }


def timestamp() -> str:
    """The current UTC time, for request records."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
