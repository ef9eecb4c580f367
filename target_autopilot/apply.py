"""Apply: bring Autopilot to the plan — lists, current members, upserts and memberships.

Requests run a few at a time on a thread pool, all through the one rate-limited client. Results are
handled on the calling thread, which is also the only one that reads or writes staging.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from target_autopilot import plan
from target_autopilot.client import Answer, AutopilotClient, RequestFailed
from target_autopilot.errors import ApiRefused, ApiUnavailable
from target_autopilot.refusals import RefusalWatch
from target_autopilot.rejects import RejectedFile
from target_autopilot.report import Progress, Report, plural
from target_autopilot.settings import Settings
from target_autopilot.staging import StagedProfile, Staging

SPLIT_STATUSES = frozenset({400, 413, 422})  # a bulk refused for its content: isolate the bad item
LIST_CREATE_TRIES = 8


@dataclass
class Outcome:
    """What one unit of work achieved."""

    added: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    accepted: list[StagedProfile] = field(default_factory=list)
    rejected: list[tuple[StagedProfile, str, str]] = field(default_factory=list)


def workers_for(requests_per_second: float) -> int:
    """Requests in flight at once: enough to keep the rate up through ~0.5 s of latency."""
    return min(32, max(4, math.ceil(requests_per_second / 2)))


class Applier:
    """Runs the plan against Autopilot and records every outcome in the report and rejected file."""

    def __init__(
        self,
        settings: Settings,
        client: AutopilotClient,
        staging: Staging,
        rejects: RejectedFile,
        report: Report,
        logger: logging.Logger,
    ) -> None:
        self.settings = settings
        self.client = client
        self.staging = staging
        self.rejects = rejects
        self.report = report
        self.logger = logger
        self.workers = workers_for(settings.requests_per_second)
        self.list_ids: dict[str, str] = {}
        self.refusals = RefusalWatch()

    def run(self) -> None:
        """Apply everything; raises an ExportError when Autopilot cannot be brought there."""
        started = time.monotonic()
        try:
            self._apply()
        finally:
            self.report.apply_seconds = time.monotonic() - started

    def _apply(self) -> None:
        self._check_account()
        titles = self.staging.lists()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="apply") as pool:
            created = self._resolve_lists(titles)
            self._read_members([title for title in titles if title not in created], pool)
            for title, count in self.staging.present_by_list().items():
                self.report.segment(title).memberships_present = count
            mode = self.settings.list_assignment
            if mode == "auto":
                mode = self._probe_bulk_assignment(pool)
            self.report.list_assignment = mode
            total = plan.request_estimate(self.staging, mode)
            self.logger.info(
                "Applying: about %s at up to %g requests/s (list assignment: %s)",
                plural(total, "request"),
                self.settings.requests_per_second,
                mode,
            )
            with Progress(self.logger, total, self.client.counts):
                self._execute(plan.units(self.staging, mode), pool)

    # Account and lists

    def _check_account(self) -> None:
        # A bad key fails here, before any list is created.
        answer = self.client.call("GET", "account", endpoint="/account")
        if not answer.ok:
            self.logger.warning("GET /account answered %d (%s); going on", answer.status, answer.message)

    def _read_lists(self) -> dict[str, str]:
        answer = self.client.call("GET", "lists", endpoint="/lists")
        if not answer.ok:
            raise ApiRefused(f"Autopilot refused to list the account's lists: {answer.message}")
        found: dict[str, str] = {}
        duplicated: Counter[str] = Counter()
        for item in answer.body.get("lists") or []:
            title, list_id = item.get("title"), item.get("list_id")
            if isinstance(title, str) and isinstance(list_id, str):
                duplicated[title] += 1
                found.setdefault(title, list_id)
        for title, count in duplicated.items():
            if count > 1:
                self.logger.warning(
                    "Autopilot holds %d lists titled %r; using the first (%s)",
                    count,
                    title,
                    found[title],
                )
        return found

    def _resolve_lists(self, titles: list[str]) -> set[str]:
        """Find each list by exact title, creating the missing ones; return the titles created."""
        existing = self._read_lists()
        created = set()
        for title in titles:
            if title in existing:
                self.list_ids[title] = existing[title]
            else:
                self.list_ids[title] = self._create_list(title)
                created.add(title)
                self.logger.info("Created list %r (%s)", title, self.list_ids[title])
        return created

    def _create_list(self, title: str) -> str:
        # POST /list is not idempotent: after a failure it may have run anyway, so look before
        # sending it again (one run never creates two lists with one title).
        for attempt in range(LIST_CREATE_TRIES):
            try:
                answer = self.client.call(
                    "POST", "list", body={"name": title}, endpoint="/list", idempotent=False
                )
            except RequestFailed:
                time.sleep(random.uniform(0, min(15.0, 0.5 * 2**attempt)))  # noqa: S311
                if (found := self._read_lists().get(title)) is not None:
                    return found
                continue
            if answer.ok and isinstance(answer.body.get("list_id"), str):
                return str(answer.body["list_id"])
            if answer.status == 409 and (found := self._read_lists().get(title)) is not None:
                return found
            raise ApiRefused(f"Autopilot refused to create the list {title!r}: {answer.message}")
        raise ApiUnavailable(
            f"Autopilot kept failing to create the list {title!r} after {LIST_CREATE_TRIES} tries. "
            "Nothing else was sent and no STATE was written: run the export again later."
        )

    def _read_members(self, titles: list[str], pool: ThreadPoolExecutor) -> None:
        reads = {title: pool.submit(self._members_of, self.list_ids[title]) for title in titles}
        for title, future in reads.items():
            self.staging.mark_present(title, future.result())

    def _members_of(self, list_id: str) -> list[str]:
        emails: list[str] = []
        segments = ["list", list_id, "contacts"]
        seen: set[str] = set()
        while True:
            answer = self.client.call("GET", *segments, endpoint="/list/{list_id}/contacts")
            if not answer.ok:
                raise ApiRefused(f"Autopilot refused to list the members of {list_id}: {answer.message}")
            contacts = answer.body.get("contacts") or []
            emails += [c["Email"] for c in contacts if isinstance(c.get("Email"), str)]
            bookmark = answer.body.get("bookmark")
            if not contacts or not isinstance(bookmark, str) or bookmark in seen:
                return emails
            seen.add(bookmark)
            segments = ["list", list_id, "contacts", bookmark]

    # Choosing how memberships are written

    def _probe_bulk_assignment(self, pool: ThreadPoolExecutor) -> str:
        """Send the first list-carrying bulk upsert, then check one of its members (one request)."""
        units = plan.units(self.staging, "bulk")
        first = next(units, None)
        units.close()  # release the staging cursor before staging is written to
        if not isinstance(first, plan.BulkUpsert) or first.list_title is None:
            return "bulk"
        title = first.list_title
        outcome = Outcome()
        self._bulk(first.profiles, title, outcome)
        if not outcome.accepted:
            self._settle(outcome)
            return "per_contact"
        probe = outcome.accepted[0].email
        check = self.client.call(
            "GET",
            "list",
            self.list_ids[title],
            "contact",
            probe,
            endpoint="/list/{list_id}/contact/{email}",
        )
        if check.status == 200:
            self.logger.info("Autopilot assigns lists inside bulk upserts: memberships ride along them")
            self._settle(outcome)
            self.staging.mark_present(title, [p.email for p in outcome.accepted])
            return "bulk"
        self.logger.warning(
            "Autopilot ignores list assignment inside bulk upserts for this account: writing each "
            "missing membership with its own request (about 1 request per membership)"
        )
        outcome.added[title] -= len(outcome.accepted)
        self._settle(outcome)
        self._execute([plan.Membership(profile, title) for profile in outcome.accepted], pool)
        self.staging.mark_present(title, [p.email for p in outcome.accepted])
        return "per_contact"

    # Running units

    def _execute(self, units: Iterable[plan.Unit], pool: ThreadPoolExecutor) -> None:
        pending: set[Future[Outcome]] = set()
        try:
            for unit in units:
                if len(pending) >= 2 * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    self._record_all(done)
                pending.add(pool.submit(self._do, unit))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                self._record_all(done)
        finally:
            for future in pending:
                future.cancel()

    def _record_all(self, done: Iterable[Future[Outcome]]) -> None:
        for future in done:
            self._record(future.result())

    def _settle(self, outcome: Outcome) -> None:
        self._count(outcome)
        self._record(outcome)

    def _count(self, outcome: Outcome) -> None:
        """Count what Autopilot accepted as soon as it answers, so a partial report counts it too."""
        self.report.upserted([profile.email for profile in outcome.accepted])
        for title, count in outcome.added.items():
            self.report.added(title, count)
        for title, count in outcome.present.items():
            self.report.present(title, count)

    def _record(self, outcome: Outcome) -> None:
        """Write the rejections (on the calling thread, which alone reads staging)."""
        for profile, reason, message in outcome.rejected:
            if reason == "api_rejected":
                if profile.email in self.report.api_rejected:
                    continue
                self.report.api_rejected.add(profile.email)
            self.rejects.write(profile.stream, reason, message, profile.record)
            self.report.reject(self.staging.lists_of(profile.email), reason)
        self.refusals.observe(
            len(outcome.accepted),
            (message for _, reason, message in outcome.rejected if reason == "api_rejected"),
        )

    def _do(self, unit: plan.Unit) -> Outcome:
        outcome = Outcome()
        try:
            if isinstance(unit, plan.BulkUpsert):
                self._bulk(unit.profiles, unit.list_title, outcome)
            elif isinstance(unit, plan.ContactUpsert):
                self._contact(unit.profile, unit.list_titles, outcome)
            else:
                self._membership(unit.profile, unit.list_title, outcome)
        finally:
            self._count(outcome)  # a unit cut short by a stop still counts what Autopilot accepted
        return outcome

    def _item(self, profile: StagedProfile, title: str | None) -> str:
        """One contact as JSON text, with its list and `notify` when there are."""
        extra = ""
        if title is not None:
            extra += f',"_autopilot_list":{json.dumps(self.list_ids[title])}'
        if self.settings.notify is not None:
            extra += f',"notify":{json.dumps(self.settings.notify)}'
        return profile.contact_json(extra)

    def _bulk(self, profiles: list[StagedProfile], title: str | None, outcome: Outcome) -> None:
        answer = self.client.call(
            "POST",
            "contacts",
            body=f'{{"contacts":[{",".join(self._item(p, title) for p in profiles)}]}}'.encode(),
            endpoint="/contacts",
        )
        if answer.ok:
            skipped = _skipped(profiles, answer.body)
            accepted = [p for p in profiles if p.email not in skipped]
            outcome.accepted += accepted
            if title is not None:
                outcome.added[title] += len(accepted)
            for profile in profiles:
                if profile.email in skipped:
                    self._single(profile, title, outcome)
        elif answer.status in SPLIT_STATUSES and len(profiles) > 1:
            middle = len(profiles) // 2
            self._bulk(profiles[:middle], title, outcome)
            self._bulk(profiles[middle:], title, outcome)
        else:
            for profile in profiles:
                _refused(profile, answer, outcome)

    def _single(self, profile: StagedProfile, title: str | None, outcome: Outcome) -> None:
        answer = self.client.call(
            "POST",
            "contact",
            body=f'{{"contact":{self._item(profile, title)}}}'.encode(),
            endpoint="/contact",
        )
        if answer.ok:
            outcome.accepted.append(profile)
            if title is not None:
                outcome.added[title] += 1
        else:
            _refused(profile, answer, outcome)

    def _contact(self, profile: StagedProfile, titles: list[str], outcome: Outcome) -> None:
        self._single(profile, titles[0], outcome)
        if outcome.rejected:
            return
        for title in titles[1:]:
            self._membership(profile, title, outcome)

    def _membership(self, profile: StagedProfile, title: str, outcome: Outcome) -> None:
        answer = self.client.call(
            "POST",
            "list",
            self.list_ids[title],
            "contact",
            profile.email,
            endpoint="/list/{list_id}/contact/{email}",
        )
        if answer.ok:
            target = outcome.present if answer.body.get("not_modified") else outcome.added
            target[title] += 1
        else:
            message = _refusal(f"add to list {title!r}", answer.status, answer.message)
            outcome.rejected.append((profile, "membership_rejected", message))


def _skipped(profiles: list[StagedProfile], body: dict[str, Any]) -> set[str]:
    """Emails a successful bulk upsert left out (Autopilot may skip bad items silently)."""
    mapping = body.get("email_contact_map")
    if isinstance(mapping, dict):
        accepted = {str(email).strip().lower() for email in mapping}
        return {p.email for p in profiles if p.email not in accepted}
    ids = body.get("contact_ids")
    if isinstance(ids, list) and len(ids) >= len(profiles):
        return set()
    return {p.email for p in profiles}  # cannot tell which: send each on its own


def _refused(profile: StagedProfile, answer: Answer, outcome: Outcome) -> None:
    """Record that Autopilot refused to upsert `profile`, in its own words."""
    outcome.rejected.append((profile, "api_rejected", _refusal("upsert", answer.status, answer.message)))


def _refusal(action: str, status: int, message: str) -> str:
    return f"Autopilot refused to {action} (HTTP {status}): {message}"
