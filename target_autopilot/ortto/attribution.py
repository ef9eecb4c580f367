"""Whose entry is whose in a merge answer: each person's outcome, trusted only as far as it was checked.

Ortto does not document the order of a merge answer's `people` (nor of a refused batch's `details`).
A 200 names the `person_id` of everyone it applied; reading those ids back (`person/get-by-ids`)
gives their emails, so who was applied is known whatever the order. The order itself is trusted for
the refused entries only when every applied entry sat at its own person's position. Without that
check a refusal's status is given to a person only when every refused person shares it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DONE = frozenset({"created", "merged", "ignored"})  # ignored: a leaver no longer in Ortto
Entry = Mapping[str, Any]


@dataclass(frozen=True)
class Attribution:
    """Per person of a batch (by position): None when applied, else the entry that refused them."""

    refusals: list[Entry | None]


def refuses(entry: Entry) -> bool:
    """Whether an entry (of a 200's `people` or a 400's `details`) says the person was refused."""
    return str(entry.get("status")) not in DONE | {"valid"} or bool(entry.get("error"))


def applied_ids(entries: Sequence[Entry]) -> list[str] | None:
    """The person ids of the applied entries; None when one of them carries none (nothing to check)."""
    ids = [entry.get("person_id") for entry in entries if not refuses(entry)]
    return [str(pid) for pid in ids] if all(isinstance(pid, str) and pid for pid in ids) else None


def attribute(emails: Sequence[str], entries: Sequence[Entry], read: Mapping[str, str]) -> Attribution | None:
    """Outcomes of a 200 for the people with `emails` (request order), given `read`: person id →
    email of the applied entries' ids. None when the answer and the read do not add up."""
    applied = [entry for entry in entries if not refuses(entry)]
    failed = [entry for entry in entries if refuses(entry)]
    wanted = {email.lower() for email in emails}
    done = {read.get(str(entry.get("person_id")), "").lower() for entry in applied}
    if len(entries) != len(emails) or len(done) != len(applied) or not done <= wanted:
        return None
    in_order = all(
        refuses(entry) or read.get(str(entry.get("person_id")), "").lower() == email.lower()
        for email, entry in zip(emails, entries, strict=True)
    )
    common = shared(failed, len(emails))
    return Attribution(
        [
            None if email.lower() in done else (entry if in_order else common)
            for email, entry in zip(emails, entries, strict=True)
        ]
    )


def positional(entries: Sequence[Entry]) -> list[Entry | None]:
    """A refused batch's `details`, one per person in request order: each person's refusal or None.
    Trusted once a resend of the others is applied in full (then those refused are exactly these)."""
    return [entry if refuses(entry) else None for entry in entries]


def unattributed(failed: Sequence[Entry], size: int, *, refused: bool) -> dict[str, Any]:
    """The entry given to people of a batch whose refusals could not be told apart: `refused` when
    the person is known to be refused (only their reason is unknown)."""
    counts = Counter(str(entry.get("status")) for entry in failed)
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "no reason"
    who = "which reason was this person's" if refused else "who; this person may not be one of them"
    return {
        "status": "refused",
        "error": f"Ortto refused {sum(counts.values())} of a batch of {size} ({summary}) without "
        f"saying {who}. Sent again on the next run",
    }


def one_reason(failed: Sequence[Entry]) -> bool:
    """Whether every refusal gives the same reason (status and error), so any order tells the same."""
    return len({(str(entry.get("status")), str(entry.get("error"))) for entry in failed}) == 1


def shared(failed: Sequence[Entry], size: int) -> Entry:
    """The refusal every refused person can be given without knowing the order."""
    return failed[0] if one_reason(failed) else unattributed(failed, size, refused=True)
