"""Injected trouble: latency, latency spikes and faults (5xx, 429, dropped connections).

Decisions come from seeded random generators under a lock, so one seed and one sequence of
requests always give the same sequence of outcomes. Latency has its own generator, so turning
latency on or off does not change which requests fail.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from target_autopilot.sandbox.config import SandboxConfig


@dataclass(frozen=True)
class Fault:
    """A fault to inject: `kind` is "500", "502", "503", "429" or "drop"."""

    kind: str
    after_apply: bool


class Chaos:
    """The fault and latency dice."""

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        # Repeatable test dice, not secrets.
        self._faults = random.Random()  # noqa: S311
        self._latency = random.Random()  # noqa: S311
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Start both sequences again from `seed` (None: unpredictable)."""
        with self._lock:
            self._faults.seed(seed)
            self._latency.seed(None if seed is None else f"latency-{seed}")

    def fault(self, config: SandboxConfig) -> Fault | None:
        """Whether this request fails, how, and whether after its change was applied."""
        if config.fault_rate <= 0:
            return None
        with self._lock:
            if self._faults.random() >= config.fault_rate:
                return None
            kind = self._faults.choice(config.fault_kinds)
            after_apply = self._faults.random() < config.fault_after_apply
        # A rate limiter refuses before any work is done: a 429 never comes after the change.
        return Fault(kind, after_apply and kind != "429")

    def delay_seconds(self, config: SandboxConfig) -> float:
        """How long to wait before handling this request: latency ± jitter, plus any spike."""
        if not (config.latency_ms or config.latency_jitter_ms or config.spike_rate):
            return 0.0
        with self._lock:
            jitter = self._latency.uniform(-config.latency_jitter_ms, config.latency_jitter_ms)
            spike = config.spike_ms if self._latency.random() < config.spike_rate else 0.0
        return max(0.0, config.latency_ms + jitter + spike) / 1000
