"""Spotting a systematic refusal: when Autopilot refuses most early profiles with one message, stop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from target_autopilot.errors import ApiRefused

WINDOW = 200  # the first profiles judged
SHARE = 0.5  # more than this share of the window refused with one message stops the run


class SystematicRefusal(ApiRefused):
    """Autopilot refused most of the first profiles for one reason: sending the rest would only repeat it."""


class RefusalWatch:
    """Counts the outcomes of the first `WINDOW` profiles and raises once one refusal dominates them."""

    def __init__(self) -> None:
        self.judged = 0
        self.refusals: Counter[str] = Counter()

    def observe(self, accepted: int, refusals: Iterable[str]) -> None:
        """Record `accepted` profiles and one message per refused profile; raise SystematicRefusal."""
        if self.judged >= WINDOW:
            return
        refused = list(refusals)
        self.judged += accepted + len(refused)
        self.refusals.update(refused)
        if not self.refusals:
            return
        message, count = self.refusals.most_common(1)[0]
        if count > SHARE * WINDOW:
            raise SystematicRefusal(
                f"Autopilot refused {count} of the first {self.judged} profiles with the same message: "
                f"{message} The export stopped instead of sending the rest one by one; no STATE was "
                "written. Fix the cause (usually field_mapping), then run it again."
            )
