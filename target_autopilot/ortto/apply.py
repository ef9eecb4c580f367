"""Apply: bring Ortto to the plan with `person/merge`, each segment a tag.

Every person who needs a request is merged once, with every tag of their segments in `tags` and
every tag of a mirrored segment they left in `unset_tags`, 100 people a request. Consent fields
(`bol::p`, `bol::sp`) are never sent, and a suppressed address is never created.

A batch whose answer does not say who failed (a 400 for a mixed batch, or per-person answers that
may come in any order) is split in halves until it does; merges are idempotent on email, so the
people sent twice are only updated twice. The client's bad-request budget keeps the 400s this
costs under Ortto's ban.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from target_autopilot import outcomes, plan
from target_autopilot.client import Answer
from target_autopilot.ortto.fields import EMAIL, FieldMap
from target_autopilot.ortto.read import Holders, read_tags
from target_autopilot.outcomes import Outcome
from target_autopilot.report import Progress, plural
from target_autopilot.staging import StagedProfile

MERGE_LIMIT = 100  # people per person/merge
DONE = frozenset({"created", "merged", "ignored"})  # ignored: a leaver no longer in Ortto
REASONS = {"suppressed": "suppressed"}  # any other failure status is `api_rejected`


@dataclass(frozen=True)
class Person:
    """One person of a merge: their profile (None for a leaver with nothing else to send) and tags."""

    email: str
    profile: StagedProfile | None
    tags: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # tags they do not hold yet
    leaving: list[str] = field(default_factory=list)  # tags of mirrored segments they left


class OrttoApplier(outcomes.Applier):
    """Runs the plan against Ortto and records every outcome in the report and rejected file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_map = FieldMap(self.fields)

    def run(self) -> None:
        """Apply everything; raises an ExportError when Ortto cannot be brought there."""
        with ThreadPoolExecutor(1, thread_name_prefix="tags") as side:
            reading = side.submit(read_tags, self.client)  # meanwhile, the fields
            self.field_map.prepare(self.client, self.logger, create=not self.settings.dry_run)
            tags = reading.result()
        if self.field_map.missing():
            self.logger.info(
                "Dry run: would create the custom fields %s", ", ".join(map(repr, self.field_map.missing()))
            )
        wanted = {*self.staging.lists(), *self.managed}
        Holders(self.client, self.field_map, self.staging, self.logger).hold(tags, wanted)
        diff = plan.diff(self.staging, set(tags), self.managed, examples=self.settings.dry_run)
        self.report.planned(diff)
        self.report.list_assignment = "tags"
        if self.settings.dry_run:
            self.recorder.preview_guard(diff, self.settings.max_removal_fraction, self.logger)
            self.recorder.log_plan()
            return
        plan.check_guard(diff, self.settings.max_removal_fraction)
        self.recorder.log_plan()
        people, leavers = self.staging.send_counts()
        total = math.ceil(people / MERGE_LIMIT) + math.ceil(leavers / MERGE_LIMIT)
        self.logger.info(
            "Applying: about %s (person/merge, %d people at most each) at up to %g requests/s "
            "(%d profiles unchanged, not sent; %d removals)",
            plural(total, "request"),
            MERGE_LIMIT,
            self.settings.requests_per_second,
            self.staging.unchanged_count(),
            diff.removals,
        )
        with (
            ThreadPoolExecutor(self.workers, thread_name_prefix="apply") as pool,
            Progress(self.logger, total, self.client.counts),
        ):
            self.recorder.execute(plan.chunked(self._people(), MERGE_LIMIT), self._merge, pool, self.workers)
            self.recorder.execute(plan.chunked(self._leavers(), MERGE_LIMIT), self._merge, pool, self.workers)

    def _people(self) -> Iterator[Person]:
        for profile, tags, added, leaving in self.staging.people_to_send():
            yield Person(profile.email, profile, tags, added, leaving)

    def _leavers(self) -> Iterator[Person]:
        for email, leaving in self.staging.leavers_only():
            yield Person(email, None, leaving=leaving)

    # One merge request, split until every person's outcome is known

    def _merge(self, batch: list[Person], outcome: Outcome) -> None:
        answer = self.client.call("POST", "person", "merge", body=self._body(batch), endpoint="/person/merge")
        results = _results(answer)
        if results is not None and len(results) == len(batch):
            statuses = {str(result.get("status")) for result in results}
            if statuses <= DONE:
                for person in batch:
                    _accepted(person, outcome)
                return
            if len(statuses) == 1 or len(batch) == 1:  # one failure for all: whatever the order
                failure = next(r for r in results if r.get("status") not in DONE)
                for person in batch:
                    _failed(person, failure, outcome)
                return
        if len(batch) > 1 and (results is not None or answer.status in (400, 413)):
            middle = len(batch) // 2
            self._merge(batch[:middle], outcome)
            self._merge(batch[middle:], outcome)
            return
        failure = {"status": "refused", "error": f"HTTP {answer.status}: {answer.message}"}
        for person in batch:
            _failed(person, results[0] if results else failure, outcome)

    def _body(self, batch: list[Person]) -> bytes:
        people = []
        for person in batch:
            item: dict[str, Any] = {
                "fields": {EMAIL: person.email}
                if person.profile is None
                else self.field_map.person(person.email, json.loads(person.profile.fields))
            }
            if person.tags:
                item["tags"] = person.tags
            if person.leaving:
                item["unset_tags"] = person.leaving
            people.append(item)
        body: dict[str, Any] = {
            "people": people,
            "async": False,  # per-person outcomes are needed; an async merge answers none
            "merge_by": [EMAIL],
            "merge_strategy": 2,
            "find_strategy": 0,
            "suppression_list_field_id": EMAIL,
        }
        if all(person.profile is None for person in batch):
            body["skip_non_existing"] = True  # removing a tag never creates anyone
        return json.dumps(body, ensure_ascii=False).encode()


def _results(answer: Answer) -> list[dict[str, Any]] | None:
    """The per-person entries of a merge answer: `people` of a 200, `details` of a 400."""
    entries = answer.body.get("people") if answer.ok else answer.body.get("details")
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        return None
    return entries


def _accepted(person: Person, outcome: Outcome) -> None:
    if person.profile is not None:
        outcome.accepted.append(person.profile)
    for title in person.added:
        outcome.added[title] += 1
    for title in person.leaving:
        outcome.removed[title] += 1


def _failed(person: Person, result: Mapping[str, Any], outcome: Outcome) -> None:
    status = str(result.get("status"))
    message = f"Ortto answered {status}: {result.get('error') or 'no reason given'}"
    if person.profile is not None:
        outcome.rejected.append((person.profile, REASONS.get(status, "api_rejected"), message))
        return
    for title in person.leaving:
        outcome.refused_removals.append((plan.Removal(title, person.email), message))
