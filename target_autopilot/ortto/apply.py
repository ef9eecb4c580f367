"""Apply: bring Ortto to the plan with `person/merge`, each segment a tag.

Every person who needs a request is merged once, with every tag of their segments in `tags` and
every tag of a mirrored segment they left in `unset_tags`, 100 people a request. Consent fields
(`bol::p`, `bol::sp`) are never sent, and a suppressed address is never created.

Who Ortto refused is known without splitting a batch (see `attribution`): a 200 with refusals costs
one read of the applied ids; a batch refused whole (400, one `details` entry per person) is sent once
more without the refused people, and each person alone when that shows the details' order did not hold
(`_refused_whole`). Addresses refused as suppressed are remembered (`remembered`) and
not sent again by the next runs.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import msgspec

from target_autopilot import outcomes, plan
from target_autopilot.client import Answer
from target_autopilot.ortto import attribution
from target_autopilot.ortto.fields import EMAIL, FieldMap
from target_autopilot.ortto.read import Holders, read_emails, read_tags
from target_autopilot.ortto.remembered import Remembered
from target_autopilot.outcomes import Outcome
from target_autopilot.report import Progress, plural
from target_autopilot.staging import StagedProfile

MERGE_LIMIT = 100  # people per person/merge
REASONS = {"suppressed": "suppressed"}  # any other failure status is `api_rejected`
# A merge of 100 people is decoded from staging and encoded again: msgspec does both about five times
# faster than json (staged fields are JSON it wrote itself, or SQLite's json_patch of it).
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


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
        directory = os.path.dirname(self.settings.rejected_records_path)
        self.remembered = Remembered(directory, self.settings.api_key)
        self.suppressed: list[str] = []  # addresses refused as suppressed in this run

    def run(self) -> None:
        """Apply everything; raises an ExportError when Ortto cannot be brought there."""
        with ThreadPoolExecutor(1, thread_name_prefix="tags") as side:
            reading = side.submit(read_tags, self.client)  # meanwhile, the fields
            self.field_map.prepare(self.client, self.logger, create=False)  # created past the guards
            tags = reading.result()
        if self.field_map.missing() and self.settings.dry_run:
            self.logger.info(
                "Dry run: would create the custom fields %s", ", ".join(map(repr, self.field_map.missing()))
            )
        wanted = {*self.staging.lists(), *self.managed}
        Holders(self.client, self.field_map, self.staging, self.logger).hold(tags, wanted)
        diff = plan.diff(self.staging, set(tags), self.managed, examples=self.settings.dry_run)
        self.report.planned(diff)
        self.check_plan(diff, "tag")
        self.recorder.log_plan()
        if self.settings.dry_run:
            return
        self.recorder.refusals.vouch(diff.unchanged)
        if self.field_map.missing():  # the plan passed every guard: now the first write
            self.field_map.prepare(self.client, self.logger, create=True)
        people, leavers = self.staging.send_counts()
        total = math.ceil(people / MERGE_LIMIT) + math.ceil(leavers / MERGE_LIMIT)
        self.logger.info(
            "Applying: about %s (person/merge, %d people at most each) at up to %g requests/s "
            "(%d profiles unchanged, not sent; %d removals)",
            plural(total, "request"),
            MERGE_LIMIT,
            self.settings.requests_per_second,
            diff.unchanged,
            diff.removals,
        )
        with (
            ThreadPoolExecutor(self.workers, thread_name_prefix="apply") as pool,
            Progress(self.logger, total, self.client.counts),
        ):
            try:
                self.recorder.execute(
                    plan.chunked(self._people(), MERGE_LIMIT), self._merge, pool, self.workers
                )
                self.recorder.execute(
                    plan.chunked(self._leavers(), MERGE_LIMIT), self._merge, pool, self.workers
                )
            finally:
                self.remembered.add(self.suppressed)
                self.remembered.save()

    def _people(self) -> Iterator[Person]:
        for profile, tags, added, leaving in self.staging.people_to_send():
            until = self.remembered.until(profile.email)
            if until is not None and set(added) == set(tags):  # holding none of its tags: maybe not in Ortto
                self.recorder.settle(_remembered(profile, until, self.remembered.path))
                continue
            yield Person(profile.email, profile, tags, added, leaving)

    def _leavers(self) -> Iterator[Person]:
        for email, leaving in self.staging.leavers_only():
            yield Person(email, None, leaving=leaving)

    # One merge request; who was refused is read from its answer (only refusals that name nobody, or
    # whose order did not hold, send each person of their batch on their own)

    def _merge(self, batch: list[Person], outcome: Outcome) -> None:
        self._answered(batch, self._send(batch), outcome)

    def _answered(self, batch: list[Person], answer: Answer, outcome: Outcome) -> None:
        entries = _results(answer)
        details = _refusing(answer, entries)
        if answer.ok and entries is not None and len(entries) == len(batch):
            self._settle(batch, entries, outcome)
        elif details is not None and len(batch) > 1 and len(details) != len(batch):
            self._alone(batch, outcome)  # refusals that cannot be matched to people
        elif details is not None:
            self._refused_whole(batch, details, outcome)
        elif answer.status == 413 and len(batch) > 1:  # over 2 MB: a size limit, not a refusal
            middle = len(batch) // 2
            self._merge(batch[:middle], outcome)
            self._merge(batch[middle:], outcome)
        else:
            failure = {"status": "refused", "error": f"HTTP {answer.status}: {answer.message}"}
            for person in batch:
                self._failed(person, failure, outcome)

    def _send(self, batch: list[Person]) -> Answer:
        return self.client.call("POST", "person", "merge", body=self._body(batch), endpoint="/person/merge")

    def _settle(self, batch: list[Person], entries: list[dict[str, Any]], outcome: Outcome) -> None:
        """A 200: everyone applied, or the applied ids read back to tell who was refused."""
        refusals: list[Mapping[str, Any] | None] = [None] * len(batch)
        if any(map(attribution.refuses, entries)):
            found = self._attribute(batch, entries)
            failed = [entry for entry in entries if attribution.refuses(entry)]
            unknown = attribution.unattributed(failed, len(batch), refused=False)
            refusals = found.refusals if found else [unknown] * len(batch)
        for person, refusal in zip(batch, refusals, strict=True):
            if refusal is None:
                _accepted(person, outcome)
            else:
                self._failed(person, refusal, outcome)

    def _attribute(
        self, batch: list[Person], entries: list[dict[str, Any]]
    ) -> attribution.Attribution | None:
        ids = attribution.applied_ids(entries)
        if ids is None:
            return None
        read = read_emails(self.client, ids) if ids else {}
        return attribution.attribute([person.email for person in batch], entries, read)

    def _refused_whole(self, batch: list[Person], details: list[dict[str, Any]], outcome: Outcome) -> None:
        """A 400 refusing some of its people, nothing applied, one detail a person (or a batch of one).
        The details are taken in request order and the others sent again: a resend applied in full
        shows the order held, so each refused person gets the reason at their position. When it did
        not, or everyone was refused for reasons that differ, who had which reason is asked alone."""
        failed = [entry for entry in details if attribution.refuses(entry)]
        if len(batch) == 1:  # the answer is this person's alone
            self._failed(batch[0], failed[0], outcome)
            return
        refusals = attribution.positional(details)
        refused = [(person, refusal) for person, refusal in zip(batch, refusals, strict=True) if refusal]
        rest = [person for person, refusal in zip(batch, refusals, strict=True) if refusal is None]
        held = attribution.one_reason(failed)  # all refused: the order matters only if reasons differ
        if rest:
            again = self._send(rest)
            entries = _results(again)
            if _refusing(again, entries) is not None:  # the order did not hold: no guess is worth more
                self._alone(batch, outcome)
                return
            self._answered(rest, again, outcome)
            held = again.ok and entries is not None and len(entries) == len(rest)
            held = held and not any(map(attribution.refuses, entries or []))
        if held:
            for person, refusal in refused:
                self._failed(person, refusal, outcome)
        else:
            self._alone([person for person, _ in refused], outcome)

    def _alone(self, people: list[Person], outcome: Outcome) -> None:
        """Merge each person on their own: the valid ones land (else they would be refused with the
        others on every run) and each refused one costs its own answer, with its own reason."""
        for person in people:
            self._merge([person], outcome)

    def _failed(self, person: Person, result: Mapping[str, Any], outcome: Outcome) -> None:
        status = str(result.get("status"))
        message = f"Ortto answered {status}: {result.get('error') or 'no reason given'}"
        if person.profile is not None:
            outcome.rejected.append((person.profile, REASONS.get(status, "api_rejected"), message))
            if status == "suppressed":
                self.suppressed.append(person.email)
            return
        for title in person.leaving:
            outcome.refused_removals.append((plan.Removal(title, person.email), message))

    def _body(self, batch: list[Person]) -> bytes:
        people = []
        for person in batch:
            item: dict[str, Any] = {
                "fields": {EMAIL: person.email}
                if person.profile is None
                else self.field_map.person(person.email, _decode(person.profile.fields))
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
        return _encode(body)


def _refusing(answer: Answer, entries: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The `details` of a 400 that refuses someone; None for any other answer."""
    return entries if answer.status == 400 and entries and any(map(attribution.refuses, entries)) else None


def _results(answer: Answer) -> list[dict[str, Any]] | None:
    """The per-person entries of a merge answer: `people` of a 200, `details` of a 400."""
    entries = answer.body.get("people") if answer.ok else answer.body.get("details")
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        return None
    return entries


def _remembered(profile: StagedProfile, until: float, path: str) -> Outcome:
    """A person not sent: Ortto refused their address as suppressed on an earlier run."""
    day = time.strftime("%Y-%m-%d", time.gmtime(until))
    message = (
        "Ortto refused this address as suppressed on an earlier run; not sent again until "
        f"{day} (remembered in {path}: delete that file to send it anyway)"
    )
    return Outcome(rejected=[(profile, "suppressed", message)])


def _accepted(person: Person, outcome: Outcome) -> None:
    if person.profile is not None:
        outcome.accepted.append(person.profile)
    for title in person.added:
        outcome.added[title] += 1
    for title in person.leaving:
        outcome.removed[title] += 1
