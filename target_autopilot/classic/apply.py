"""Apply: bring Autopilot Classic to the plan — lists, current members, upserts, memberships, removals.

Requests run a few at a time on a thread pool (see `outcomes`), all through the one rate-limited client.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from target_autopilot import fieldtypes, outcomes, plan
from target_autopilot.classic import read as classic_read
from target_autopilot.client import Answer, RequestFailed
from target_autopilot.errors import ApiRefused, ApiUnavailable
from target_autopilot.outcomes import Outcome
from target_autopilot.report import Progress, plural
from target_autopilot.staging import StagedProfile

# A bulk refused for one item's content names it: the rest is resent without it, never split.
REFUSED_STATUSES = frozenset({400, 422})
_EMAILS = re.compile(r"[^\s()'\"<>,;:]+@[^\s()'\"<>,;:]+")
LIST_CREATE_TRIES = 8


class Applier(outcomes.Applier):
    """Runs the plan against Autopilot Classic and records every outcome in the report and rejected file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.list_ids: dict[str, str] = {}

    def run(self) -> None:
        """Apply everything; raises an ExportError when Autopilot cannot be brought there."""
        fieldtypes.check(
            [field for field in self.fields if field.is_custom],
            lambda: classic_read.account_fields(self.client, self.logger),
        )
        self._check_account()
        titles = self.staging.lists()
        existing = classic_read.read_lists(self.client, self.logger)
        found = {title: existing[title] for title in sorted({*titles, *self.managed}) if title in existing}
        self.list_ids.update(found)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="apply") as pool:
            classic_read.hold_members(self.client, found, self.staging, pool)
            diff = plan.diff(self.staging, found, self.managed, examples=self.settings.dry_run)
            self.report.planned(diff)
            self.check_plan(diff, "list")
            self.recorder.log_plan()
            if self.settings.dry_run:
                return
            self.recorder.refusals.vouch(diff.unchanged)
            for title in titles:
                if title not in existing:
                    self.list_ids[title] = self._create_list(title)
                    self.logger.info("Created list %r (%s)", title, self.list_ids[title])
            mode = self.settings.list_assignment
            if mode == "auto":
                mode = self._probe_bulk_assignment(pool)
            self.report.list_assignment = mode
            total = plan.request_estimate(self.staging, mode, diff)
            self.logger.info(
                "Applying: about %s at up to %g requests/s (list assignment: %s; %s unchanged, not sent; %s)",
                plural(total, "request"),
                self.settings.requests_per_second,
                mode,
                plural(diff.unchanged, "profile"),
                plural(diff.removals, "removal"),
            )
            with Progress(self.logger, total, self.client.counts):
                self._execute(plan.units(self.staging, mode), pool)
                self._execute(plan.removals(self.staging), pool)

    # Account and lists

    def _check_account(self) -> None:
        # A bad key fails here, before any list is created.
        answer = self.client.call("GET", "account", endpoint="/account")
        if not answer.ok:
            self.logger.warning("GET /account answered %d (%s); going on", answer.status, answer.message)

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
                if (found := self._list_titled(title)) is not None:
                    return found
                continue
            if answer.ok and isinstance(answer.body.get("list_id"), str):
                return str(answer.body["list_id"])
            if answer.status == 409 and (found := self._list_titled(title)) is not None:
                return found
            raise ApiRefused(f"Autopilot refused to create the list {title!r}: {answer.message}")
        raise ApiUnavailable(
            f"Autopilot kept failing to create the list {title!r} after {LIST_CREATE_TRIES} tries. "
            "Nothing else was sent and no STATE was written: run the export again later."
        )

    def _list_titled(self, title: str) -> str | None:
        return classic_read.read_lists(self.client, self.logger).get(title)

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
        riding = self._bulk(first.profiles, title, outcome)
        refused = [profile.email for profile, _, _ in outcome.rejected]
        self.staging.mark_present(title, refused)  # refused once: the plan's units must not send them again
        self.staging.mark_stored(refused)
        if not riding:  # none accepted by the bulk itself (a contact sent again alone proves nothing)
            self.recorder.settle(outcome)
            return "per_contact"
        probe = riding[0].email
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
            self.recorder.settle(outcome)
            self._probed(title, outcome.accepted)
            return "bulk"
        self.logger.warning(
            "Autopilot ignores list assignment inside bulk upserts for this account: writing each "
            "missing membership with its own request (about 1 request per membership)"
        )
        outcome.added[title] -= len(riding)
        self.recorder.settle(outcome)
        self._execute([plan.Membership(profile, title) for profile in riding], pool)
        self._probed(title, outcome.accepted)
        return "per_contact"

    def _probed(self, title: str, accepted: list[StagedProfile]) -> None:
        """The probe's profiles are upserted and in the list: the plan's units must skip them."""
        emails = [profile.email for profile in accepted]
        self.staging.mark_present(title, emails)
        self.staging.mark_stored(emails)

    # Running units

    def _execute(self, units: Iterable[plan.Unit], pool: ThreadPoolExecutor) -> None:
        self.recorder.execute(units, self._do, pool, self.workers)

    def _do(self, unit: plan.Unit, outcome: Outcome) -> None:
        if isinstance(unit, plan.BulkUpsert):
            self._bulk(unit.profiles, unit.list_title, outcome)
        elif isinstance(unit, plan.ContactUpsert):
            self._contact(unit.profile, unit.list_titles, outcome)
        elif isinstance(unit, plan.Removal):
            self._remove(unit, outcome)
        else:
            self._membership(unit.profile, unit.list_title, outcome)

    def _item(self, profile: StagedProfile, title: str | None) -> str:
        """One contact as JSON text, with its list and `notify` when there are."""
        return profile.contact_json(self._extra(title))

    def _extra(self, title: str | None) -> str:
        """The members every contact sent with list `title` ends with: its list, then `notify`."""
        extra = ""
        if title is not None:
            extra += f',"_autopilot_list":{json.dumps(self.list_ids[title])}'
        if self.settings.notify is not None:
            extra += f',"notify":{json.dumps(self.settings.notify)}'
        return extra

    def _bulk(
        self, profiles: list[StagedProfile], title: str | None, outcome: Outcome
    ) -> list[StagedProfile]:
        """Upsert `profiles` in bulks; returns those a bulk request accepted (not those sent again alone)."""
        extra = self._extra(title)  # once a bulk, not once a contact
        answer = self.client.call(
            "POST",
            "contacts",
            body=f'{{"contacts":[{",".join(p.contact_json(extra) for p in profiles)}]}}'.encode(),
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
            return accepted
        if answer.status in REFUSED_STATUSES and len(profiles) > 1:
            named = _named(profiles, answer.message)
            if named is None:  # the refusal names no one of the batch: each goes on its own
                for profile in profiles:
                    self._single(profile, title, outcome)
                return []
            _refused(named, answer, outcome)
            return self._bulk([p for p in profiles if p is not named], title, outcome)
        if answer.status == 413 and len(profiles) > 1:  # too large, not refused: halves fit
            middle = len(profiles) // 2
            return self._bulk(profiles[:middle], title, outcome) + self._bulk(
                profiles[middle:], title, outcome
            )
        for profile in profiles:
            _refused(profile, answer, outcome)
        return []

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

    def _remove(self, removal: plan.Removal, outcome: Outcome) -> None:
        answer = self.client.call(
            "DELETE",
            "list",
            self.list_ids[removal.list_title],
            "contact",
            removal.email,
            endpoint="/list/{list_id}/contact/{email}",
        )
        # A retried DELETE that had already taken effect answers not_modified or 404: done either way.
        if answer.ok or answer.status == 404:
            outcome.removed[removal.list_title] += 1
        else:
            message = _refusal(f"remove from list {removal.list_title!r}", answer.status, answer.message)
            outcome.refused_removals.append((removal, message))


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


def _named(profiles: list[StagedProfile], message: str) -> StagedProfile | None:
    """The one profile of the batch whose email the refusal names, if exactly one is."""
    named = {found.rstrip(".").lower() for found in _EMAILS.findall(message)}
    matches = [profile for profile in profiles if profile.email in named]
    return matches[0] if len(matches) == 1 else None


def _refused(profile: StagedProfile, answer: Answer, outcome: Outcome) -> None:
    """Record that Autopilot refused to upsert `profile`, in its own words."""
    outcome.rejected.append((profile, "api_rejected", _refusal("upsert", answer.status, answer.message)))


def _refusal(action: str, status: int, message: str) -> str:
    return f"Autopilot refused to {action} (HTTP {status}): {message}"
