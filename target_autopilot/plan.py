"""The plan: the profile limit, and the requests that bring Autopilot's lists to the staged state.

Work comes as units, generated lazily from staging so memory stays flat:
- `BulkUpsert`: up to 100 profiles in one `POST /contacts`; with `list_title` set, every item carries
  that list's id in `_autopilot_list` (memberships ride along the upsert);
- `ContactUpsert`: one `POST /contact` carrying the first missing list, then one membership `POST`
  for each further list (used when bulk items cannot assign lists);
- `Membership`: one membership `POST` for a contact already upserted.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from target_autopilot.errors import ProfileLimitExceeded
from target_autopilot.staging import StagedProfile, Staging

BULK_LIMIT = 100  # Autopilot refuses bulk upserts of 101 contacts or more.

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


Unit = BulkUpsert | ContactUpsert | Membership


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
        current: str | None = None
        batch: list[StagedProfile] = []
        for title, profile in staging.missing_memberships():
            if title != current or len(batch) == BULK_LIMIT:
                if batch:
                    yield BulkUpsert(batch, current)
                current, batch = title, []
            batch.append(profile)
        if batch:
            yield BulkUpsert(batch, current)
    else:
        for profile, titles in staging.profiles_missing_lists():
            yield ContactUpsert(profile, titles)
    for chunk in chunked(staging.complete_profiles(), BULK_LIMIT):
        yield BulkUpsert(chunk)


def request_estimate(staging: Staging, mode: str) -> int:
    """How many requests `units(staging, mode)` will cost when nothing fails."""
    missing = staging.missing_by_list()
    complete = math.ceil(staging.complete_count() / BULK_LIMIT)
    if mode == "bulk":
        return complete + sum(math.ceil(count / BULK_LIMIT) for count in missing.values())
    return complete + sum(missing.values())


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Successive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
