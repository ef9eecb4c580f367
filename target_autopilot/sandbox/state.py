"""The running sandbox's state: settings, both stores, both API surfaces, limiter, faults, statistics.

The request pipeline (app.py), the control API and the pages all work on this one object; it knows
none of them, so they depend on it and never on each other's owner.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from target_autopilot.sandbox.classic.store import Store
from target_autopilot.sandbox.classic.surface import ClassicSurface
from target_autopilot.sandbox.config import SandboxConfig, with_changes
from target_autopilot.sandbox.faults import Chaos
from target_autopilot.sandbox.ortto.store import OrttoStore
from target_autopilot.sandbox.ortto.surface import OrttoSurface
from target_autopilot.sandbox.ratelimit import RateLimiter
from target_autopilot.sandbox.runs import Members, RunLog
from target_autopilot.sandbox.stats import Stats


class SandboxState:
    """Everything one running server holds; `config` may change at run time, the rest is fixed."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._config_lock = threading.Lock()
        self.store = Store(config.db)
        self.ortto_store = OrttoStore(config.db)
        self.classic = ClassicSurface(config, self.store)
        self.ortto = OrttoSurface(config, self.ortto_store)
        # Every account once, Classic keys first: how the dump and the page number them.
        self.account_ids = list(
            dict.fromkeys([*self.classic.accounts.values(), *self.ortto.accounts.values()])
        )
        self.limiter = RateLimiter()
        self.chaos = Chaos(config.seed)
        self.stats = Stats()
        self.runs = RunLog()

    @property
    def config(self) -> SandboxConfig:
        """The settings in force now."""
        return self._config

    def reconfigure(self, changes: Mapping[str, object]) -> SandboxConfig:
        """Change settings at run time (a new seed restarts the seeded sequences)."""
        with self._config_lock:
            updated = with_changes(self._config, changes)
            if "seed" in changes:
                self.chaos.reseed(updated.seed)
                self.ortto.api.reseed(updated.seed)
            self._config = updated
            return updated

    def reset(self) -> None:
        """Forget all data, statistics, rate-limit windows, bans and queued merges; restart the seeded
        sequences."""
        self.ortto.api.forget_queued()
        with self.store.transaction() as tx:
            tx.clear()
        self.ortto_store.clear()
        self.stats.reset()
        self.runs.reset()
        self.limiter.reset()
        self.ortto.ban.reset()
        self.chaos.reseed(self.config.seed)
        self.ortto.api.reseed(self.config.seed)

    def members(self, account: str) -> Members:
        """Every list's members and tag's holders in the account, by id, as a run notes them."""
        found: Members = {}
        with self.store.transaction() as tx:
            for item in tx.lists(account):
                found["list", item.list_id] = tx.member_ids(account, item.list_id)
        with self.ortto_store.transaction(account) as data:
            for tag in data.tags.values():
                found["tag", tag.name] = frozenset(tag.holders)
        return found

    def close(self) -> None:
        """Close both stores (the server has stopped)."""
        self.store.close()
        self.ortto_store.close()
