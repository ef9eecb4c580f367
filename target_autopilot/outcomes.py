"""What units of work achieved, and running them: a few at a time on a pool, outcomes recorded in the
report and the rejected file on the calling thread (the only one that reads staging)."""

from __future__ import annotations

import logging
import queue
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from target_autopilot import guards, plan
from target_autopilot.apis import workers_for
from target_autopilot.client import AutopilotClient
from target_autopilot.errors import ExportError, RemovalGuardTripped, TooManyNewSegments
from target_autopilot.fieldtypes import MappedField
from target_autopilot.refusals import RefusalWatch
from target_autopilot.rejects import RejectedFile
from target_autopilot.report import Report, plural
from target_autopilot.settings import Settings
from target_autopilot.staging import StagedProfile, Staging
from target_autopilot.synclog import SyncLog

U = TypeVar("U")


@dataclass
class Outcome:
    """What one unit of work achieved."""

    added: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    accepted: list[StagedProfile] = field(default_factory=list)
    rejected: list[tuple[StagedProfile, str, str]] = field(default_factory=list)
    refused_removals: list[tuple[plan.Removal, str]] = field(default_factory=list)


class Recorder:
    """Counts outcomes in the report and writes their rejections."""

    def __init__(
        self,
        staging: Staging,
        rejects: RejectedFile,
        report: Report,
        managed: Mapping[str, str],
        log: SyncLog | None = None,
    ) -> None:
        self.staging = staging
        self.rejects = rejects
        self.report = report
        self.managed = managed
        self.log = log
        self.refusals = RefusalWatch()

    def log_plan(self) -> None:
        """Write each person's part of the plan to the sync log (past the guard: a stopped run wrote
        nothing, so it logs nothing)."""
        if self.log is not None:
            self.log.planned(self.staging.decisions)

    def count(self, outcome: Outcome) -> None:
        """Count what the API accepted as soon as it answers, so a partial report counts it too."""
        self.report.upserted([profile.seq for profile in outcome.accepted])
        for title, count in outcome.added.items():
            self.report.added(title, count)
        for title, count in outcome.present.items():
            self.report.present(title, count)
        for title, count in outcome.removed.items():
            self.report.removed(title, count)

    def record(self, outcome: Outcome) -> None:
        """Write the rejections (on the calling thread, which alone reads staging)."""
        for removal, message in outcome.refused_removals:
            record = {"email": removal.email, "list": removal.list_title}
            self.rejects.write(self.managed.get(removal.list_title, ""), "removal_rejected", message, record)
            self.report.reject([removal.list_title], "removal_rejected")
            if self.log is not None:
                self.log.refused(removal.email, [removal.list_title], "removal_rejected", message)
        for profile, reason, message in outcome.rejected:
            # Classic sends a contact once per list, so may be refused twice; Ortto, alone to answer
            # `suppressed`, sends each person once
            if reason == "api_rejected" and not self.report.api_rejected.set([profile.seq]):
                continue  # refused again (another list's request): written once
            self.rejects.write(profile.stream, reason, message, profile.record)
            lists = self.staging.lists_of(profile.email)
            self.report.reject(lists, reason)
            if self.log is not None:
                self.log.refused(profile.email, lists, reason, message)
        self.refusals.observe(
            len(outcome.accepted),
            (message for _, reason, message in outcome.rejected if reason == "api_rejected"),
        )

    def settle(self, outcome: Outcome) -> None:
        self.count(outcome)
        self.record(outcome)

    def execute(
        self, units: Iterable[U], do: Callable[[U, Outcome], None], pool: ThreadPoolExecutor, workers: int
    ) -> None:
        """Run `do` on every unit (it fills the unit's outcome), at most twice `workers` queued, and
        record each outcome as its unit finishes."""
        # Finished units come back through a queue, not `concurrent.futures.wait`: a signal's exception
        # raised while `wait` takes the futures' locks one by one leaves some taken, and the pool then
        # never shuts down (a Ctrl-C that hangs the run)
        finished: queue.SimpleQueue[Future[Outcome]] = queue.SimpleQueue()
        pending: set[Future[Outcome]] = set()
        try:
            for unit in units:
                if len(pending) >= 2 * workers:
                    self._record_next(finished, pending)
                future = pool.submit(self._counted, do, unit)
                pending.add(future)
                future.add_done_callback(finished.put)
            while pending:
                self._record_next(finished, pending)
        finally:
            for future in pending:
                future.cancel()

    def _record_next(
        self, finished: queue.SimpleQueue[Future[Outcome]], pending: set[Future[Outcome]]
    ) -> None:
        future = finished.get()
        pending.discard(future)
        self.record(future.result())

    def _counted(self, do: Callable[[U, Outcome], None], unit: U) -> Outcome:
        outcome = Outcome()
        try:
            do(unit, outcome)
        finally:
            self.count(outcome)  # a unit cut short by a stop still counts what the API accepted
        return outcome


class Applier:
    """What every API's applier starts from; `run` brings the API to the plan or raises an ExportError."""

    def __init__(
        self,
        settings: Settings,
        client: AutopilotClient,
        staging: Staging,
        rejects: RejectedFile,
        report: Report,
        logger: logging.Logger,
        managed: Mapping[str, str],
        fields: Collection[MappedField],
        log: SyncLog | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.staging = staging
        self.rejects = rejects
        self.report = report
        self.logger = logger
        self.managed = managed  # title of each list mirrored in this run → its stream
        self.fields = fields
        self.workers = workers_for(settings.requests_per_second)
        self.recorder = Recorder(staging, rejects, report, managed, log)

    def run(self) -> None:
        raise NotImplementedError

    def check_plan(self, diff: plan.Plan, noun: str) -> None:
        """Before any write: stop when the plan trips a guard. A dry run lists the lists or tags
        (`noun`) it would create and notes what a real run would stop for, as its verdict."""
        dry_run = self.settings.dry_run
        new = guards.new_segments(diff)
        if dry_run and new:
            self.logger.info(
                "Dry run: would create %s: %s", plural(len(new), f"new {noun}"), ", ".join(map(repr, new))
            )
        errors: list[ExportError] = []
        over = diff.over_guard(self.settings.max_removal_fraction)
        if over:
            self.report.guard = plan.guard_message(over, self.settings.max_removal_fraction)
            errors.append(RemovalGuardTripped(self.report.guard + " Nothing was written to Autopilot."))
        problem = guards.new_segments_problem(diff, self.settings.max_new_segments, noun)
        if problem is not None:
            errors.append(TooManyNewSegments(problem))
        for error in errors:
            guards.stop(error, dry_run, self.report, self.logger)
