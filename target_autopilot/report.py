"""What a run did, per segment and in total: the summary log, the JSON report, and progress lines."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from target_autopilot.client import RequestCounts
from target_autopilot.flags import ProfileFlags

if TYPE_CHECKING:
    from target_autopilot.apis import Api
    from target_autopilot.plan import Plan


@dataclass
class SegmentFigures:
    """Figures of one segment (one Autopilot list)."""

    records: int = 0
    profiles: int = 0
    upserted: int = 0
    memberships_added: int = 0
    memberships_present: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    values_dropped: int = 0
    plan: dict[str, Any] = field(default_factory=dict)


class Report:
    """Collects a run's figures; safe to update from the apply threads."""

    def __init__(self, api: Api) -> None:
        self.api = api  # whose words the summary speaks
        self.started = time.monotonic()
        self.segments: dict[str, SegmentFigures] = {}
        self.records = 0
        self.profiles = 0
        self.rejected: Counter[str] = Counter()
        self.values_dropped = 0
        self.api_rejected = ProfileFlags()  # profiles the API refused (each is written to the file once)
        self.accepted = ProfileFlags()  # profiles the API accepted, counted as the answers arrive
        self.list_assignment = ""
        self.apply_seconds: float | None = None
        self.applied = False
        self.failure: str | None = None
        self.files: dict[str, str] = {}
        self.unchanged = 0
        self.guard: str | None = None  # in a dry run: what the mirror guard would say
        self.verdicts: list[str] = []  # in a dry run: what would make the real run fail
        self.dropped_fields: list[dict[str, Any]] = []  # per field that lost values: how many of how many
        self.lowered_rate: float | None = None  # requests/s the run slowed down to after 429s
        self._lock = threading.Lock()

    def segment(self, title: str) -> SegmentFigures:
        with self._lock:
            return self.segments.setdefault(title, SegmentFigures())

    def read(self, titles: list[str]) -> None:
        """Count one record read for each of its segments."""
        self.records += 1
        for title in titles:
            figures = self.segments.get(title)  # once per record: no lock nor new figures when known
            (figures if figures is not None else self.segment(title)).records += 1

    def reject(self, titles: list[str], reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1
            for title in titles:
                self.segments.setdefault(title, SegmentFigures()).rejected[reason] += 1

    def dropped(self, titles: list[str]) -> None:
        """Count one value dropped from a record that was still exported."""
        with self._lock:
            self.values_dropped += 1
            for title in titles:
                self.segments.setdefault(title, SegmentFigures()).values_dropped += 1

    def added(self, title: str, count: int = 1) -> None:
        with self._lock:
            self.segments.setdefault(title, SegmentFigures()).memberships_added += count

    def present(self, title: str, count: int) -> None:
        with self._lock:
            self.segments.setdefault(title, SegmentFigures()).memberships_present += count

    def upserted(self, seqs: list[int]) -> None:
        """Count staged profiles (by `seq`) Autopilot accepted; a partial report counts them too."""
        self.accepted.set(seqs)

    def removals(self) -> int:
        """Members removed from lists so far in this run."""
        return sum(figures.removed for figures in self.segments.values())

    def removed(self, title: str, count: int = 1) -> None:
        with self._lock:
            self.segments.setdefault(title, SegmentFigures()).removed += count

    def planned(self, plan: Plan) -> None:
        """Note the plan's figures for each list it touches."""
        self.unchanged = plan.unchanged
        for title, planned in plan.segments.items():
            figures = self.segment(title)
            figures.unchanged = planned.unchanged
            figures.memberships_present = planned.to_update + planned.unchanged
            figures.plan = {
                self.api.group: "exists"
                if planned.exists
                else "would be created"
                if planned.profiles
                else "absent",
                "mirrored": planned.managed,
                f"{self.api.members}_now": planned.members_now,
                "to_add": planned.to_add,
                "to_update": planned.to_update,
                "unchanged": planned.unchanged,
                "to_remove": planned.to_remove,
            }
            if planned.examples:
                figures.plan["examples"] = planned.examples

    def created(self) -> None:
        """The plan was carried out: what it would create now exists."""
        for figures in self.segments.values():
            if figures.plan.get(self.api.group) == "would be created":
                figures.plan[self.api.group] = "created"

    def to_dict(self, counts: RequestCounts | None, status: str) -> dict[str, Any]:
        """The run summary as JSON-ready data."""
        return {
            "status": status,
            "api": self.api.name,
            "duration_seconds": round(time.monotonic() - self.started, 3),
            "apply_seconds": None if self.apply_seconds is None else round(self.apply_seconds, 3),
            "records": self.records,
            "profiles": self.profiles,
            "failure": self.failure,
            "upserted": self.accepted.count,
            "unchanged": self.unchanged,
            "rejected": dict(self.rejected),
            "values_dropped": self.values_dropped,
            "values_dropped_by_field": self.dropped_fields,
            "list_assignment": self.list_assignment or None,
            "files": dict(self.files),
            **({"guard": self.guard} if self.guard else {}),
            **({"suggested_requests_per_second": round(self.lowered_rate, 2)} if self.lowered_rate else {}),
            "requests": {
                "sent": counts.requests if counts else 0,
                "answered": counts.answered if counts else 0,
                "retries": counts.retries if counts else 0,
                "throttled_429": counts.throttled if counts else 0,
                "server_errors": counts.server_errors if counts else 0,
                "connection_errors": counts.connection_errors if counts else 0,
                "by_endpoint": dict(counts.by_endpoint) if counts else {},
            },
            "segments": {
                title: {
                    "records": figures.records,
                    "profiles": figures.profiles,
                    "upserted": figures.upserted if self.applied else None,
                    "memberships_added": figures.memberships_added,
                    "memberships_present": figures.memberships_present,
                    "unchanged": figures.unchanged,
                    "removed": figures.removed,
                    "rejected": dict(figures.rejected),
                    "values_dropped": figures.values_dropped,
                    "plan": figures.plan,
                }
                for title, figures in sorted(self.segments.items())
            },
        }

    def log_summary(self, logger: logging.Logger, summary: dict[str, Any]) -> None:
        """Log the summary, one line per segment, then the totals."""
        for title, figures in summary["segments"].items():
            if summary["status"] == "dry_run":
                _log_planned(logger, title, figures, self.api)
                continue
            # A run that failed before the end never counted its upserts per segment: not shown.
            upserted = "" if figures["upserted"] is None else f"{figures['upserted']} upserted, "
            logger.info(
                "Segment %r: %d records, %d profiles, %s%d unchanged, %d %s, %d %s, %d removed, "
                "rejected %s, %d values dropped",
                title,
                figures["records"],
                figures["profiles"],
                upserted,
                figures["unchanged"],
                figures["memberships_added"],
                self.api.added,
                figures["memberships_present"],
                self.api.present,
                figures["removed"],
                _reasons(figures["rejected"]),
                figures["values_dropped"],
            )
        requests = summary["requests"]
        logger.info(
            "%s in %.1f s: %d records, %d profiles, %d contacts accepted by Autopilot, rejected %s, "
            "%d values dropped; %s answered, %s without an answer (connection failures), "
            "%d retries (%d after 429)%s",
            "Dry run completed" if summary["status"] == "dry_run" else f"Export {summary['status']}",
            summary["duration_seconds"],
            summary["records"],
            summary["profiles"],
            summary["upserted"],
            _reasons(summary["rejected"]),
            summary["values_dropped"],
            plural(requests["answered"], "request"),
            plural(requests["connection_errors"], "attempt"),
            requests["retries"],
            requests["throttled_429"],
            " (the error below says why)" if summary["failure"] else "",
        )
        for dropped in summary["values_dropped_by_field"]:
            logger.warning(
                "Values dropped: %d of the %d values of field %r (property %r) could not be stored; "
                "each is in the rejected file (reason invalid_value)",
                dropped["dropped"],
                dropped["values"],
                dropped["field"],
                dropped["property"],
            )
        suggested = summary.get("suggested_requests_per_second")
        if suggested:
            logger.warning(
                "The API answered 429 (too many requests), so the run slowed down to %g requests/s: "
                "set requests_per_second: %g to start at that pace",
                suggested,
                suggested,
            )
        for kind, path in summary["files"].items():
            logger.info("This run's %s: %s", kind, path)

    @staticmethod
    def write(path: str, summary: dict[str, Any]) -> None:
        """Write the JSON report (atomically, so a reader never sees half a file)."""
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        partial = f"{path}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # it names people: readable by its owner only, whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.replace(partial, path)


def plural(number: int, noun: str) -> str:
    """'1 request', '2 requests'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _log_planned(logger: logging.Logger, title: str, figures: dict[str, Any], api: Api) -> None:
    plan = figures["plan"]
    if not plan:  # every record of the segment was rejected: no list to touch
        logger.info("Dry run, segment %r: nothing to send; rejected %s", title, _reasons(figures["rejected"]))
        return
    logger.info(
        "Dry run, segment %r: %s %s%s; %d %s now; %d to add, %d to update, %d unchanged, "
        "%d to remove; rejected %s",
        title,
        api.group,
        plan[api.group],
        " (mirrored)" if plan["mirrored"] else "",
        plan[f"{api.members}_now"],
        api.members,
        plan["to_add"],
        plan["to_update"],
        plan["unchanged"],
        plan["to_remove"],
        _reasons(figures["rejected"]),
    )


def _reasons(rejected: dict[str, int]) -> str:
    if not rejected:
        return "none"
    return ", ".join(f"{count} {reason}" for reason, count in sorted(rejected.items()))


class Progress:
    """Logs done/total, rate and ETA every `every` seconds while requests are applied."""

    def __init__(self, logger: logging.Logger, total: int, counts: RequestCounts, every: float = 5.0) -> None:
        self._logger = logger
        self._total = max(total, 1)
        self._counts = counts
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._start_requests = counts.requests
        self._started = time.monotonic()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            done = self._counts.requests - self._start_requests
            elapsed = time.monotonic() - self._started
            rate = done / elapsed if elapsed else 0.0
            remaining = max(self._total - done, 0)
            eta = f"{remaining / rate:.0f} s" if rate else "unknown"
            self._logger.info(
                "Applying: %d/%d requests (%.0f%%), %.1f requests/s, ETA %s",
                done,
                self._total,
                100 * min(done, self._total) / self._total,
                rate,
                eta,
            )
