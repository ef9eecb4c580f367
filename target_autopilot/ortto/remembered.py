"""Addresses Ortto refused as suppressed, remembered beside the run files so the next runs do not pay
a 4xx for each of them again.

The file holds no address: each is an HMAC-SHA256 keyed by the API key, so it only matches again for
the same account and cannot be read back into addresses without the key. It is written 0600, and an
entry expires `KEEP_DAYS` after the last refusal (an address can leave the suppression list).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable

NAME = "autopilot-ortto-suppressed.json"
KEEP_DAYS = 30
DAY = 86400
ABOUT = (
    "Addresses Ortto refused as suppressed (HMAC-SHA256 keyed by the API key) -> when the memory "
    "expires (Unix time). The target does not send them again until then; delete this file to send them."
)


class Remembered:
    """The suppressed addresses of earlier runs (digest → expiry), and those this run adds."""

    def __init__(self, directory: str, api_key: str, now: float | None = None) -> None:
        self.path = os.path.join(directory or ".", NAME)
        self._key = api_key.encode()
        self._now = time.time() if now is None else now
        self._until: dict[str, float] = {}
        self._added = False
        try:
            with open(self.path, encoding="utf-8") as file:
                stored = json.load(file).get("suppressed", {})
        except (OSError, ValueError, AttributeError):
            stored = {}
        if isinstance(stored, dict):
            self._until = {
                str(digest): float(until)
                for digest, until in stored.items()
                if isinstance(until, int | float) and until > self._now
            }

    def until(self, email: str) -> float | None:
        """When the memory of this address's refusal expires, if it is remembered."""
        return self._until.get(self._digest(email)) if self._until else None  # none: no hash to make

    def add(self, emails: Iterable[str]) -> None:
        """Remember these addresses as refused now."""
        for email in emails:
            self._until[self._digest(email)] = self._now + KEEP_DAYS * DAY
            self._added = True

    def save(self) -> None:
        """Write the file (0600, atomically) if this run added to it."""
        if not self._added:
            return
        partial = f"{self.path}.{os.getpid()}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"about": ABOUT, "suppressed": self._until}, file)
        os.replace(partial, self.path)

    def _digest(self, email: str) -> str:
        return hmac.new(self._key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
