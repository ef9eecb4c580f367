"""The plan: the profile limit, what each list should hold diffed against what it holds, and the work.

The diff (`Plan`, one `SegmentPlan` per list) is in terms of list titles and emails, whatever the
API: what staging says each segment holds, against what an API-specific reader recorded that
Autopilot holds (members and their stored fields, see `holdings`). The mirror guard checks it
before any write.

Work comes as units, generated lazily from staging so memory stays flat; the apply layer of an
API turns each into requests:
- `BulkUpsert`: up to 100 profiles upserted at once; with `list_title` set, the memberships of that
  list ride along the upsert;
- `ContactUpsert`: one profile upserted with its first missing list, then each further list added
  (for an API that cannot assign lists in bulk);
- `Membership`: a list membership for a profile already upserted, or unchanged;
- `Removal`: one member of a mirrored list who left its segment, to take off that list.

Profiles whose stored fields already equal what would be sent are not upserted again.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby, islice
from operator import itemgetter
from typing import TypeVar

from target_autopilot.errors import ProfileLimitExceeded
from target_autopilot.staging import StagedProfile, Staging

BULK_LIMIT = 100  # Autopilot refuses bulk upserts of 101 contacts or more.
EXAMPLES = 20  # example emails per category in a dry run's report

T = TypeVar("T")


@dataclass(frozen=True)
class BulkUpsert:
    profiles: list[StagedProfile]
    list_title: str | None = None


@dataclass(frozen=True)
class ContactUpsert:
    profile: StagedProfile
    list_titles: list[str]


@dataclass(frozen=True)
class Membership:
    profile: StagedProfile
    list_title: str


@dataclass(frozen=True)
class Removal:
    list_title: str
    email: str


Unit = BulkUpsert | ContactUpsert | Membership | Removal


@dataclass(frozen=True)
class SegmentPlan:
    """One list: what it holds now and what the run changes in it."""

    title: str
    exists: bool  # False: the list would be created
    managed: bool  # mirrored in this run: its leavers are removed
    members_now: int  # members Autopilot holds (0 for a list to create)
    profiles: int  # profiles the segment holds in this run
    to_add: int  # profiles of the segment not yet members
    to_update: int  # members whose stored fields differ from what would be sent
    unchanged: int  # members with nothing to send
    to_remove: int  # members who left the segment (managed lists only)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def over_guard(self, max_fraction: float) -> bool:
        """Whether the removals exceed `max_fraction` of the current members."""
        return self.to_remove > max_fraction * self.members_now


@dataclass(frozen=True)
class Plan:
    """The diff of every list the run touches: staged segments against what Autopilot holds."""

    segments: dict[str, SegmentPlan]
    unchanged: int = 0  # profiles that need no request at all

    @property
    def removals(self) -> int:
        return sum(segment.to_remove for segment in self.segments.values())

    def over_guard(self, max_fraction: float) -> list[SegmentPlan]:
        """The lists that would lose more than `max_fraction` of their members."""
        return [s for s in self.segments.values() if s.managed and s.over_guard(max_fraction)]


def diff(staging: Staging, existing: Collection[str], managed: Collection[str], *, examples: bool) -> Plan:
    """Diff the staged segments against what Autopilot holds (recorded in staging by a reader).

    `existing`: titles of lists that exist; `managed`: titles of lists mirrored in this run.
    """
    staging.mark_unchanged()
    staging.set_managed([title for title in managed if title in existing])
    counts = staging.segment_counts()
    held = staging.held_by_list()
    leavers = staging.leavers_by_list()
    segments = {}
    for title in sorted(set(counts) | set(managed)):
        profiles, to_add, same = counts.get(title, (0, 0, 0))
        segments[title] = SegmentPlan(
            title=title,
            exists=title in existing,
            managed=title in managed,
            members_now=held.get(title, 0),
            profiles=profiles,
            to_add=to_add,
            to_update=profiles - to_add - same,
            unchanged=same,
            to_remove=leavers.get(title, 0),
            examples=staging.examples(title, EXAMPLES) if examples else {},
        )
    return Plan(segments, staging.unchanged_count())


def guard_message(over: list[SegmentPlan], max_fraction: float) -> str:
    """What the guard says about the lists over it."""
    lists = "; ".join(
        f"{s.title!r} holds {s.members_now:,} members and would lose {s.to_remove:,}"
        + (" (its segment arrived empty)" if s.profiles == 0 else "")
        for s in over
    )
    return (
        f"Mirror guard: a list would lose more than max_removal_fraction = {max_fraction:g} of its "
        f"members: {lists}. If the source is right, raise max_removal_fraction (1 turns the guard "
        "off) for this run; preview with dry_run: true."
    )


def check_limit(profiles: int, max_profiles: int) -> None:
    """Stop before any write when the run holds more profiles than allowed."""
    if profiles > max_profiles:
        raise ProfileLimitExceeded(
            f"The input holds {profiles:,} distinct profiles (distinct emails), more than "
            f"max_profiles = {max_profiles:,}. Nothing was sent to Autopilot. Raise max_profiles, "
            "or set on_limit_exceeded: truncate to export the first "
            f"{max_profiles:,} and reject the rest."
        )


def units(staging: Staging, mode: str) -> Generator[Unit, None, None]:
    """Every unit of work for `mode` ("bulk" or "per_contact"), lists first, in arrival order."""
    if mode == "bulk":
        for title, memberships in groupby(staging.missing_memberships(), key=itemgetter(0)):
            for batch in chunked((profile for _, profile in memberships), BULK_LIMIT):
                yield BulkUpsert(batch, title)
    else:
        for profile, titles, unchanged in staging.profiles_missing_lists():
            if unchanged:
                for title in titles:
                    yield Membership(profile, title)
            else:
                yield ContactUpsert(profile, titles)
    for chunk in chunked(staging.complete_profiles(), BULK_LIMIT):
        yield BulkUpsert(chunk)


def removals(staging: Staging) -> Iterator[Removal]:
    """Every leaver of every managed list, list by list."""
    for title, email in staging.leavers():
        yield Removal(title, email)


def request_estimate(staging: Staging, mode: str, plan: Plan) -> int:
    """How many requests `units(staging, mode)` and the removals will cost when nothing fails."""
    missing = staging.missing_by_list()
    complete = math.ceil(staging.complete_count() / BULK_LIMIT) + plan.removals
    if mode == "bulk":
        return complete + sum(math.ceil(count / BULK_LIMIT) for count in missing.values())
    return complete + sum(missing.values())


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Successive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
