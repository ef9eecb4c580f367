"""Spotting a systematic refusal: when Autopilot refuses most early profiles with one message, stop."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from target_autopilot.errors import ApiRefused

FIRST = 100  # profiles judged before deciding
WINDOW = 200  # only the first profiles are judged: later refusals are the data's, not the setup's
SHARE = 0.5  # more than this share of the judged profiles refused with one message stops the run

# Messages that differ only by the contact they name (its email, its index in a bulk) are one refusal.
_SPECIFICS = re.compile(r"\S+@\S+|\d+")


class SystematicRefusal(ApiRefused):
    """Autopilot refused most of the first profiles for one reason: sending the rest would only repeat it."""


class RefusalWatch:
    """Counts the outcomes of the first profiles and raises once one refusal dominates them."""

    def __init__(self) -> None:
        self.judged = 0
        self.refusals: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def vouch(self, stored: int) -> None:
        """Count profiles Autopilot already stores as staged: they prove the setup works, so a re-run
        that sends only the people refused last time is not taken for a systematic refusal."""
        self.judged += stored

    def observe(self, accepted: int, refusals: Iterable[str]) -> None:
        """Record `accepted` profiles and one message per refused profile; raise SystematicRefusal."""
        if self.judged >= WINDOW:
            return
        for message in refusals:
            kind = _SPECIFICS.sub("…", message)
            self.refusals[kind] += 1
            self.examples.setdefault(kind, message)
            self.judged += 1
        self.judged += accepted
        if self.judged < FIRST or not self.refusals:
            return
        kind, count = self.refusals.most_common(1)[0]
        if count > SHARE * self.judged:
            raise SystematicRefusal(
                f"Autopilot refused {count} of the first {self.judged} profiles for the same reason, "
                f"e.g. {self.examples[kind]} The export stopped instead of sending the rest one by one; "
                "no STATE was written. Fix the cause (often field_mapping), then run it again."
            )
