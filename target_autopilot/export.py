"""One export run: what the sinks stage, then, at the end of the input, plan → apply → report."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from target_autopilot import guards, plan
from target_autopilot.apis import APIS, CLASSIC, ORTTO, workers_for
from target_autopilot.banledger import BanLedger
from target_autopilot.classic.apply import Applier as ClassicApplier
from target_autopilot.client import AutopilotClient
from target_autopilot.errors import DryRunVerdict, ExportError, TooManyDropped, TooManyRejected
from target_autopilot.fieldtypes import MappedField
from target_autopilot.mapping import Contact, DroppedValue, StreamMapping
from target_autopilot.ortto.apply import OrttoApplier
from target_autopilot.ortto.fields import field_name as ortto_field_name
from target_autopilot.outcomes import Applier
from target_autopilot.ratelimit import BadRequestBudget, RateLimiter
from target_autopilot.rejects import RejectedFile
from target_autopilot.report import Report, plural
from target_autopilot.runfiles import new_run_id
from target_autopilot.settings import Settings
from target_autopilot.staging import Staging
from target_autopilot.synclog import SyncLog
from target_autopilot.values import Rejection

# Where an export is put together, each API gets its package's applier (apis.py holds the data alone).
APPLIERS: dict[str, type[Applier]] = {CLASSIC.name: ClassicApplier, ORTTO.name: OrttoApplier}
# A mapped key (`date--Signup--Date`) as each API names the field.
FIELD_NAMES: dict[str, Callable[[str], str]] = {CLASSIC.name: str, ORTTO.name: ortto_field_name}


def client_for(settings: Settings) -> AutopilotClient:
    """The run's one client, with the API's header and pacing."""
    api = APIS[settings.api]
    return AutopilotClient(
        settings.api_url,
        settings.api_key,
        RateLimiter(settings.requests_per_second, slow_down=api.slow_down),
        retry_seconds=settings.retry_seconds,
        connections=workers_for(settings.requests_per_second),
        key_header=api.key_header,
        bad_requests=None
        if api.ban_after is None
        else BadRequestBudget(api.ban_after, ledger=BanLedger.for_url(settings.api_url)),
    )


class Export:
    """Collects the run's profiles from every sink, then applies them to Autopilot once."""

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self.staging = Staging()
        self.run_id = new_run_id()
        self.rejects = RejectedFile(settings.rejected_records_path, self.run_id)
        self.report = Report(APIS[settings.api])
        self.log = (
            SyncLog(settings.sync_log_path, self.run_id, settings.keep_run_files)
            if settings.sync_log_path
            else None
        )
        self.client: AutopilotClient | None = None
        self._stream_properties: dict[str, set[str]] = {}
        self._fields: set[MappedField] = set()
        self._activated: set[str] = set()
        self._records: Counter[str] = Counter()  # records received per stream
        self._titles_by_stream: dict[str, set[str]] = {}
        self._mappings: list[StreamMapping] = []
        self._dropped = guards.DroppedValues()
        self._joined: set[str] = set()  # segment names that hold a separator character

    def open(self) -> None:
        """Create this run's files now: an unwritable path must stop the run before anything is sent."""
        self.rejects.open()
        if self.log is not None:
            self.log.start(self.settings.api, self.settings.sync_mode, self.settings.dry_run)
            self.report.files["sync log"] = self.log.path

    # Called by the target and the sinks while the input is read

    def register_stream(self, stream: str, schema: Mapping[str, Any], mapping: StreamMapping) -> None:
        named = self.settings.segment_property is not None or stream in self.settings.segments
        if not named and stream not in self._stream_properties:
            group = APIS[self.settings.api].group
            self.logger.warning(
                "The stream %r is not named in `segments`: its records go to a %s named %r. Name it in "
                "segments (stream → %s name) to choose the name",
                stream,
                group,
                stream,
                group,
            )
        self._stream_properties[stream] = set(schema.get("properties") or {})
        self._mappings.append(mapping)
        self._fields |= {MappedField(spec.key, spec.source, stream) for spec in mapping.fields}

    def activate_version(self, stream: str) -> None:
        """The tap sent ACTIVATE_VERSION for `stream`: this run holds the whole of it."""
        self._activated.add(stream)

    def lists_for(self, stream: str, record: Mapping[str, Any]) -> list[str] | Rejection:
        """The list titles a record belongs to, or why it belongs to none (each record is asked once)."""
        self._records[stream] += 1
        prop = self.settings.segment_property
        if prop is None:
            return [self.settings.segments.get(stream, stream)]
        titles = self._titles_of(record, prop)
        if isinstance(titles, list):
            self._titles_by_stream.setdefault(stream, set()).update(titles)
        return titles

    def _titles_of(self, record: Mapping[str, Any], prop: str) -> list[str] | Rejection:
        value = record.get(prop)
        values = value if isinstance(value, list) else [value]
        separator = self.settings.segment_separator
        if separator is not None:
            values = [
                part
                for item in values
                for part in (item.split(separator) if isinstance(item, str) else [item])
            ]
        if any(item is not None and not isinstance(item, str) for item in values):
            return Rejection(
                "invalid_segment",
                f"segment_property {prop!r} holds {str(value)[:100]!r}: "
                "expected a list name or a list of them",
            )
        titles = list(
            dict.fromkeys(item.strip() for item in values if isinstance(item, str) and item.strip())
        )
        if not titles:
            return Rejection(
                "missing_segment", f"segment_property {prop!r} is empty, so the record has no list"
            )
        if separator is None and len(self._joined) < 100:
            self._joined.update(guards.joined_names(titles))
        return titles

    def reject(
        self,
        stream: str,
        titles: list[str],
        rejection: Rejection,
        record: Any,
        email: str | None = None,
        person: str | None = None,
    ) -> None:
        """Write a rejected record; its person, when known by `email`, is never removed in this run.

        The sync log files the rejection under `person` (the address as the source wrote it, when
        it is not a valid one), else under `email`."""
        self.rejects.write(stream, rejection.reason, rejection.message, record)
        self.report.reject(titles, rejection.reason)
        if email is not None:
            self.staging.keep(email)
        who = person or email
        if self.log is not None and who:
            self.log.rejected(who, titles, rejection.reason, rejection.message)

    def drop_value(
        self, stream: str, titles: list[str], dropped: DroppedValue, record: Any, email: str
    ) -> None:
        """Record a value left out of an exported contact."""
        name = FIELD_NAMES[self.settings.api](dropped.key)  # in the API's own terms
        message = dropped.message.replace(f"→ {dropped.key}:", f"→ {name}:", 1)
        detail = {"property": dropped.source, "field": name, "value": dropped.value}
        self.rejects.write(stream, "invalid_value", message, record, detail)
        self.report.dropped(titles)
        self._dropped.add(dropped.key, dropped.source, dropped.value)
        if self.log is not None:
            self.log.dropped(email, titles, message)

    def cut_value(self, stream: str, cut: DroppedValue, record: Any) -> None:
        """Record a value exported cut to the API's limit (the person is exported)."""
        detail = {"property": cut.source, "field": cut.key, "value": cut.value}
        self.rejects.write(stream, "value_truncated", cut.message, record, detail)

    def stage(self, contact: Contact, titles: list[str], stream: str, record: str) -> None:
        """Stage a profile; past the limit in truncate mode, reject it instead."""
        if (
            self.settings.on_limit_exceeded == "truncate"
            and self.staging.profile_count >= self.settings.max_profiles
            and not self.staging.knows(contact.email)
        ):
            rejection = Rejection(
                "profile_limit",
                f"beyond max_profiles = {self.settings.max_profiles:,} (on_limit_exceeded: truncate)",
            )
            self.reject(stream, titles, rejection, record, contact.email)
            return
        self.staging.add(contact, titles, stream, record)

    # Called once the input has ended

    def finish(self) -> None:
        """Check the plan and apply it. Raises ExportError on failure; in a dry run, DryRunVerdict
        when the real run would fail (after planning everything)."""
        guards.warn_unread_sources(self.settings.field_mapping, self._stream_properties, self.logger)
        self._warn_about_nothing_received()
        guards.warn_joined_names(self._joined, self.settings.segment_property, self.logger)
        profiles = self.staging.profile_count
        self.report.profiles = profiles
        for title, count in self.staging.profiles_by_list().items():
            self.report.segment(title).profiles = count
        plan.check_limit(profiles, self.settings.max_profiles)
        if self.report.rejected["profile_limit"]:
            self.logger.warning(
                "More profiles than max_profiles = %d: exported the first %d, rejected %d records "
                "(reason profile_limit)",
                self.settings.max_profiles,
                profiles,
                self.report.rejected["profile_limit"],
            )
        self._check_dropped()
        managed = self.managed_lists()
        if profiles or managed:
            self.client = client_for(self.settings)
            applier = APPLIERS[self.settings.api](
                self.settings,
                self.client,
                self.staging,
                self.rejects,
                self.report,
                self.logger,
                managed,
                self._fields,
                self.log,
            )
            started = time.monotonic()
            try:
                applier.run()
            finally:
                self.report.apply_seconds = time.monotonic() - started
        if not self.settings.dry_run:
            for figures in self.report.segments.values():
                refused = figures.rejected["api_rejected"] + figures.rejected["suppressed"]
                figures.upserted = figures.profiles - figures.unchanged - refused
            self.report.applied = True
            self.report.created()
        for segment in guards.small_segments_over(self.report, self.settings.max_rejected_fraction):
            self.logger.warning(
                "Segment %s were rejected, more than max_rejected_fraction = %g; too few records to fail the "
                "run for (fewer than %d): read the reasons in %s",
                segment,
                self.settings.max_rejected_fraction,
                guards.MIN_SEGMENT_RECORDS,
                self.rejects.path,
            )
        problem = guards.rejected_problem(self.report, self.settings.max_rejected_fraction, self.rejects.path)
        if problem is not None:
            self._stop(TooManyRejected(problem))
        if self.report.verdicts:
            raise DryRunVerdict(
                "Dry run: the real run would fail, with this message: " + " ".join(self.report.verdicts)
            )

    def _stop(self, error: ExportError) -> None:
        guards.stop(error, self.settings.dry_run, self.report, self.logger)

    def _check_dropped(self) -> None:
        fields = self._dropped.by_field(mapping.filled for mapping in self._mappings)
        self.report.dropped_fields = [
            {"field": f.key, "property": f.source, "values": f.values, "dropped": f.dropped} for f in fields
        ]
        problem = guards.dropped_problem(fields, self.settings.max_dropped_fraction)
        if problem is not None:
            self._stop(TooManyDropped(problem))

    def managed_lists(self) -> dict[str, str]:
        """The lists mirrored in this run (title → the complete stream that names it).

        A list is mirrored when a stream received complete names it and no stream received
        incomplete in this run does (that one's other members may simply not have been sent).
        """
        if self.settings.sync_mode != "mirror":
            return {}
        sent = list(self._stream_properties)
        if self.settings.complete_streams == "activate_version":
            complete = self._activated
        else:
            complete = {stream for stream in sent if self._records[stream]}
            if empty := [stream for stream in sent if not self._records[stream]]:
                self.logger.warning(
                    "Not mirroring the lists of %s: sent without a record in this run, which with "
                    "complete_streams: sent means nothing was re-read (a file tap that reads only changed "
                    "files sends nothing for an unchanged one), not that everyone left",
                    ", ".join(map(repr, sorted(empty))),
                )
        managed: dict[str, str] = {}
        partial: set[str] = set()
        for stream in sent:
            if self.settings.segment_property is None:
                titles = {self.settings.segments.get(stream, stream)}
            else:
                titles = self._titles_by_stream.get(stream, set())
                titles |= set(self.settings.managed_lists.get(stream, []))
            if stream in complete:
                for title in sorted(titles):
                    managed.setdefault(title, stream)
            else:
                partial |= titles
        left = sorted(title for title in managed if title in partial)
        if left:
            self.logger.warning(
                "Not mirroring %s: an incomplete stream of this run also feeds them",
                ", ".join(map(repr, left)),
            )
        mirrored = {title: stream for title, stream in managed.items() if title not in partial}
        if sent and not complete & set(sent):
            self.logger.warning(
                "sync_mode mirror mirrors no list in this run: no stream arrived complete "
                "(complete_streams: %s%s), so no one is removed",
                self.settings.complete_streams,
                "; this tap sent no ACTIVATE_VERSION. A file tap that re-reads whole files "
                "(tap-spreadsheets) needs complete_streams: sent"
                if self.settings.complete_streams == "activate_version" and not self._activated
                else "",
            )
        self.logger.info(
            "sync_mode mirror: mirroring %s; streams received complete: %s",
            ", ".join(map(repr, sorted(mirrored))) or f"no {APIS[self.settings.api].group}",
            ", ".join(sorted(complete & set(sent))) or "none",
        )
        return mirrored

    def summary(self, status: str) -> dict[str, Any]:
        if self.client is not None and self.client.limiter.rate < self.client.limiter.initial_rate:
            self.report.lowered_rate = self.client.limiter.rate
        return self.report.to_dict(self.client.counts if self.client else None, status)

    def log_end(self, summary: dict[str, Any]) -> None:
        """End the run in the sync log with the summary's figures (commits its changes)."""
        if self.log is not None:
            requests = summary["requests"]["sent"]
            self.log.finish(summary["status"], summary["records"], summary["profiles"], requests)
            self.logger.info(
                "Sync log: %s of this run written to %s in %.2f s",
                plural(self.log.rows, "change"),
                self.log.path,
                self.log.seconds,
            )

    def _warn_about_nothing_received(self) -> None:
        arrived = sorted(self._stream_properties)
        if self.settings.segment_property is None:
            for stream in sorted(set(self.settings.segments) - set(arrived)):
                self.logger.warning(
                    "segments names the stream %r, which did not arrive in this run (streams that "
                    "did: %s): check its spelling against the tap's stream names",
                    stream,
                    ", ".join(arrived) or "none",
                )
        if not self.report.records:
            self.logger.warning(
                "The tap sent no record (streams: %s). Its state may say nothing changed since the "
                "last run (tap-spreadsheets skips files it has read before); `meltano run "
                "--full-refresh ...` sends everything again",
                ", ".join(arrived) or "none",
            )

    def stop(self) -> None:
        """Start no new request: the run was interrupted."""
        if self.client is not None:
            self.client.stop()

    def close(self) -> None:
        self.rejects.close()
        if self.log is not None:
            self.log.close()
        self.staging.close()
        if self.client is not None:
            self.client.close()
