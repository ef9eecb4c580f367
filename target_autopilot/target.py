"""The Singer target: settings, sinks, and the end-of-input export that precedes any STATE."""

from __future__ import annotations

import copy
import os
import signal
import sys
from types import FrameType
from typing import IO, Any, ClassVar

from singer_sdk import Target
from singer_sdk.exceptions import (
    ConfigValidationError,
    InvalidJSONSchema,
    RecordsWithoutSchemaException,
)
from singer_sdk.helpers.capabilities import (
    TARGET_VALIDATE_RECORDS_CONFIG,
    CapabilitiesEnum,
    TargetCapabilities,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_autopilot import schema, stagingdir
from target_autopilot.config_keys import load_method_problems, unknown_key_problems
from target_autopilot.early_stop import discard_unread_input
from target_autopilot.errors import DryRunVerdict, ExportError, InputError, Terminated
from target_autopilot.export import Export
from target_autopilot.mapping import mapping_key_problems
from target_autopilot.meltano_values import numbers_from_text
from target_autopilot.reader import Reader
from target_autopilot.report import Report
from target_autopilot.runfiles import link_latest, remove_old_files, run_path
from target_autopilot.settings import Settings
from target_autopilot.sinks import AutopilotSink
from target_autopilot.startup import log_start, unknown_variables

_SECRET_SETTINGS = [name for name, prop in schema.SCHEMA["properties"].items() if prop.get("secret")]


def _redact_secrets(errors: list[str]) -> list[str]:
    """Config errors without the value of any secret setting."""
    return [
        next(
            (
                f"{name} is not valid (its value is secret and not shown): it must be a string."
                for name in _SECRET_SETTINGS
                if f"config['{name}']" in error
            ),
            error,
        )
        for error in errors
    ]


class TargetAutopilot(Target):
    """Exports segments of profiles from any tap into Autopilot: Classic lists, or Ortto tags."""

    name = "target-autopilot"
    # A copy: the SDK adds its built-in settings to this dict in place, and SCHEMA stays the target's own.
    config_jsonschema = copy.deepcopy(schema.SCHEMA)
    default_sink_class = AutopilotSink
    message_reader_class = Reader
    # `validate-records` has no name in Meltano's capabilities: left out, so that --about and the Hub
    # file say the same; its setting stays (append_builtin_config).
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        c for c in Target.capabilities if c != TargetCapabilities.VALIDATE_RECORDS
    ]

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """The SDK's settings, with `load_method` offering only what this target does."""
        super().append_builtin_config(config_jsonschema)
        for name, prop in TARGET_VALIDATE_RECORDS_CONFIG["properties"].items():
            config_jsonschema["properties"].setdefault(name, prop)
        config_jsonschema["properties"]["load_method"] = schema.LOAD_METHOD

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        self._config = numbers_from_text(self._config, self.config_jsonschema)
        # Before the schema's terse "not one of" for `overwrite`: say why it cannot be.
        if problems := load_method_problems(self._config):
            raise ConfigValidationError("Config validation failed", errors=problems)
        # The SDK's messages quote the offending value: a mistyped api_key would be printed.
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            raise ConfigValidationError(
                "Config validation failed", errors=_redact_secrets(exc.errors), schema=exc.schema
            ) from None
        return _redact_secrets(errors)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = Settings.from_config(self.config)
        problems = (
            unknown_key_problems(self.config, self._known_settings())
            + self.settings.problems()
            + mapping_key_problems(self.settings.field_mapping)
        )
        if problems:
            raise ConfigValidationError("Config validation failed", errors=problems)
        for warning in unknown_variables(os.environ, self._full_schema()):
            self.logger.warning(warning)
        log_start(self.logger, self.settings, self.config)
        self.export = Export(self.settings, self.logger)
        self._applied = False
        self._stopping = False

    def _known_settings(self) -> list[str]:
        """This target's settings and those the SDK adds for its capabilities."""
        return list(self._full_schema()["properties"])

    def _full_schema(self) -> dict[str, Any]:
        schema = copy.deepcopy(self.config_jsonschema)
        self.append_builtin_config(schema)
        return schema

    def _write_state_message(self, state: dict[str, Any]) -> None:
        # The SDK writes STATE after every drain (every 5 minutes, at SIGTERM); records are only
        # staged then. STATE goes out once the export has been applied, never before.
        if self._applied:
            super()._write_state_message(state)

    def _process_activate_version_message(self, message_dict: dict[str, Any]) -> None:
        # Replaces the SDK's handler (which warns about `_sdc_` columns this target has no use
        # for): ACTIVATE_VERSION only tells that the stream arrives whole in this run.
        for stream_map in self.mapper.stream_maps[message_dict["stream"]]:
            self.export.activate_version(stream_map.stream_alias)

    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        try:
            self.export.finish()
        except DryRunVerdict as verdict:  # the plan is complete: report it, then the verdict
            self.export.report.failure = str(verdict)
            self._finish_report("dry_run")
            self.logger.error("%s", verdict)  # noqa: TRY400 (a verdict, not a crash)
            sys.exit(verdict.exit_code)
        if self.settings.dry_run:  # no STATE: the next real run must send everything again
            self._finish_report("dry_run")
            return
        self._applied = True
        self._finish_report("completed")
        if self._latest_state:
            self._write_state_message(self._latest_state)

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: IO[str] | None = None,
    ) -> None:
        """The CLI entry: as the SDK's, but the run goes through `run` for clean failures."""
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        try:
            target = cls(
                config=config.config if config else {},
                validate_config=True,
                parse_env_config=config.parse_env if config else False,
            )
        except ConfigValidationError as exc:
            discard_unread_input(file_input)
            for error in exc.errors:
                cls.logger.error("Config validation failed: %s", error)  # noqa: TRY400 (a user's error)
            sys.exit(1)
        target.run(file_input)

    def run(self, file_input: IO[str] | None = None) -> None:
        """Read the input and export it; user errors end the run with one clear message."""
        umask = os.umask(0o077)  # every file and folder the target makes holds personal data: owner only
        try:
            paths = (self.settings.rejected_records_path, self.settings.report_path)
            remove_old_files(paths, self.settings.keep_run_files, self.logger)
            for left in stagingdir.sweep():
                self.logger.info("Deleted the staging directory of a run killed before removing it: %s", left)
            self.export.open()
            self.listen(file_input)
        except ExportError as exc:
            self._stop_early(file_input, str(exc), exc.exit_code)
        except RecordsWithoutSchemaException as exc:
            self._stop_early(file_input, f"{exc} Nothing was sent to Autopilot.", InputError.exit_code)
        except InvalidJSONSchema as exc:
            self._stop_early(
                file_input,
                f"Input line {self._line_number()}: the SCHEMA message's schema is not a valid JSON "
                f"schema ({exc}). Nothing was sent to Autopilot.",
                InputError.exit_code,
            )
        except InvalidInputLine as exc:
            self._stop_early(
                file_input,
                f"Invalid Singer message: {exc}. Nothing was sent to Autopilot.",
                InputError.exit_code,
            )
        except Exception as exc:  # the promise: a clear message, never a traceback
            self.logger.debug("Unexpected failure", exc_info=True)
            self._stop_early(
                file_input,
                f"Unexpected failure at input line {self._line_number()}: {type(exc).__name__}: "
                f"{str(exc)[:300]}. This is a bug in target-autopilot: please report it (the traceback "
                "is logged with TARGET_AUTOPILOT_LOGLEVEL=DEBUG). No STATE was written.",
                ExportError.exit_code,
            )
        finally:
            self.export.close()
            os.umask(umask)

    def _line_number(self) -> int:
        reader = self.message_reader
        return reader.line_number if isinstance(reader, Reader) else 0

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:  # Meltano follows Ctrl-C's SIGINT with a SIGTERM: one stop is enough
            return
        self._stopping = True
        # Also while Python shuts down, which resets handlers written in Python (not SIG_IGN).
        for other in (signal.SIGINT, signal.SIGTERM):
            signal.signal(other, signal.SIG_IGN)
        if self._applied:
            sys.exit(128 + signum)
        # Raised where the main thread is: the requests in flight finish (and are counted), no
        # new one starts, and `run` reports once.
        self.export.stop()
        raise Terminated(
            f"Stopped by signal {signum} before the export was complete. No STATE was written: "
            "run the export again to finish it (what was sent is updated, not duplicated).",
            signum,
        )

    def _stop_early(self, file_input: IO[str] | None, message: str, exit_code: int) -> None:
        # The input is read to its end first, so the message is the last thing `meltano run` shows;
        # not after a signal, where the tap is being stopped too and the run must end at once.
        if not self._stopping:
            discard_unread_input(file_input)
        self._fail(message, exit_code)

    def _fail(self, message: str, exit_code: int) -> None:
        self._stopping = True
        self.export.report.failure = message
        self._finish_report("failed")
        self.logger.error(message)  # last, where the user looks
        sys.exit(exit_code)

    def _finish_report(self, status: str) -> None:
        """Log the summary and write the report; this run's files are named in both."""
        report = self.export.report
        rejects = self.export.rejects
        rejects.close()
        if rejects.lines:
            report.files["rejected records"] = rejects.run_path
        path = self.settings.report_path
        # A run that received nothing, removed nothing and failed in nothing leaves the latest report.
        acted = status != "completed" or report.records or report.removals()
        own = run_path(path, self.export.run_id) if path and acted else ""
        if own:
            report.files["report"] = own
        summary = self.export.summary(status)
        self.export.log_end(summary)
        report.log_summary(self.logger, summary)
        if path and own:
            Report.write(own, summary)
            link_latest(path, own)


if __name__ == "__main__":
    TargetAutopilot.cli()
