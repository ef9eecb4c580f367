"""One export run: what the sinks stage, then, at the end of the input, plan → apply → report."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from target_autopilot import apis, plan
from target_autopilot.client import AutopilotClient
from target_autopilot.errors import InputError, TooManyRejected
from target_autopilot.fieldtypes import MappedField
from target_autopilot.mapping import Contact, DroppedValue, Rejection, StreamMapping
from target_autopilot.rejects import RejectedFile
from target_autopilot.report import Report, plural
from target_autopilot.runfiles import new_run_id
from target_autopilot.settings import Settings
from target_autopilot.staging import Staging
from target_autopilot.synclog import SyncLog


class Export:
    """Collects the run's profiles from every sink, then applies them to Autopilot once."""

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self.staging = Staging()
        self.run_id = new_run_id()
        self.rejects = RejectedFile(settings.rejected_records_path, self.run_id)
        self.report = Report()
        self.log = (
            SyncLog(settings.sync_log_path, self.run_id, settings.keep_run_files)
            if settings.sync_log_path
            else None
        )
        self.client: AutopilotClient | None = None
        self._stream_properties: dict[str, set[str]] = {}
        self._fields: set[MappedField] = set()
        self._activated: set[str] = set()
        self._titles_by_stream: dict[str, set[str]] = {}

    def open(self) -> None:
        """Create this run's files now: an unwritable path must stop the run before anything is sent."""
        self.rejects.open()
        if self.log is not None:
            self.log.start(self.settings.api, self.settings.sync_mode, self.settings.dry_run)
            self.report.files["sync log"] = self.log.path

    # Called by the target and the sinks while the input is read

    def register_stream(self, stream: str, schema: Mapping[str, Any], mapping: StreamMapping) -> None:
        self._stream_properties[stream] = set(schema.get("properties") or {})
        self._fields |= {MappedField(spec.key, spec.source, stream) for spec in mapping.fields}

    def activate_version(self, stream: str) -> None:
        """The tap sent ACTIVATE_VERSION for `stream`: this run holds the whole of it."""
        self._activated.add(stream)

    def lists_for(self, stream: str, record: Mapping[str, Any]) -> list[str] | Rejection:
        """The list titles a record belongs to, or why it belongs to none."""
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
        detail = {"property": dropped.source, "field": dropped.key, "value": dropped.value}
        self.rejects.write(stream, "invalid_value", dropped.message, record, detail)
        self.report.dropped(titles)
        if self.log is not None:
            self.log.dropped(email, titles, dropped.message)

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
        """Check the plan and apply it. Raises ExportError on failure."""
        self._check_mapping_sources()
        self._warn_about_nothing_received()
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
        managed = self.managed_lists()
        if profiles or managed:
            self.client = apis.client_for(self.settings)
            applier = apis.api_of(self.settings).applier()(
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
        if self.settings.dry_run:
            return
        for figures in self.report.segments.values():
            refused = figures.rejected["api_rejected"] + figures.rejected["suppressed"]
            figures.upserted = figures.profiles - figures.unchanged - refused
        self.report.applied = True
        self._check_rejected_fraction()

    def managed_lists(self) -> dict[str, str]:
        """The lists mirrored in this run (title → the complete stream that names it).

        A list is mirrored when a stream received complete names it and no stream received
        incomplete in this run does (that one's other members may simply not have been sent).
        """
        if self.settings.sync_mode != "mirror":
            return {}
        sent = list(self._stream_properties)
        complete = self._activated if self.settings.complete_streams == "activate_version" else set(sent)
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
        self.logger.info(
            "sync_mode mirror: mirroring %s; streams received complete: %s",
            ", ".join(map(repr, sorted(mirrored))) or "no list",
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

    def _check_rejected_fraction(self) -> None:
        # A refused removal is a leaver's, not one of this run's records: it is written down and tried
        # again by the next complete run, and never fails this one.
        records = self.report.records
        rejected = sum(n for reason, n in self.report.rejected.items() if reason != "removal_rejected")
        limit = self.settings.max_rejected_fraction
        if records and rejected / records > limit:
            raise TooManyRejected(
                f"{rejected:,} of the run's {records:,} records were rejected ({rejected / records:.0%}), "
                f"more than max_rejected_fraction = {limit:g} allows, so the run failed and wrote no "
                "STATE: the next run sends these records again (what Autopilot accepted stays). "
                f"The reasons are in {self.rejects.path}. Fix the cause, or raise "
                "max_rejected_fraction (1 never fails a run for its rejections)."
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

    def _check_mapping_sources(self) -> None:
        if not self._stream_properties:
            return
        known = set().union(*self._stream_properties.values())
        for key, source in self.settings.field_mapping.items():
            if source not in known:
                raise InputError(
                    f"field_mapping.{key} names the property {source!r}, which no stream has. "
                    f"Available properties: {', '.join(sorted(known)) or '(none)'}. Nothing was sent."
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
