"""The sink: validates, maps and stages each record of a stream. It never talks to Autopilot."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import fastjsonschema
from singer_sdk.sinks import RecordSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator

from target_autopilot.apis import ORTTO
from target_autopilot.mapping import DroppedValue, StreamMapping
from target_autopilot.ortto import limits
from target_autopilot.rejects import record_json
from target_autopilot.synclog import person_of
from target_autopilot.values import Rejection, normalise_email

if TYPE_CHECKING:
    from target_autopilot.export import Export


class _CapturingValidator(BaseJSONSchemaValidator):
    """Schema validation that notes the first violation instead of stopping the run.

    fastjsonschema (the validator singer-sdk's own docs suggest) compiles the schema to Python and
    answers "valid" in a few microseconds. A record it doubts goes to jsonschema, the SDK's
    validator (Draft 2020-12, formats not checked), which has the last word and words the message:
    so a record is rejected exactly when the SDK itself would reject it.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self._checker = JSONSchemaValidator(schema).validator
        try:
            self._fast: Callable[[Any], Any] | None = fastjsonschema.compile(
                schema, use_default=False, use_formats=False, detailed_exceptions=False
            )
        except fastjsonschema.JsonSchemaDefinitionException:
            self._fast = None  # a schema only jsonschema understands: it alone judges
        self.violation: str | None = None

    def validate(self, record: dict[str, Any]) -> None:
        if self._fast is not None:
            try:
                self._fast(record)
            except fastjsonschema.JsonSchemaValueException:
                pass
            else:
                self.violation = None
                return
        error = next(iter(self._checker.iter_errors(record)), None)
        if error is None:
            self.violation = None
            return
        where = "/".join(str(part) for part in error.absolute_path) or "(record)"
        self.violation = f"{where}: {error.message[:300]}"


class AutopilotSink(RecordSink):
    """Stages the records of one stream for the export."""

    # Records are staged as they arrive; a "full" batch has nothing left to flush.
    MAX_SIZE_DEFAULT = 1_000_000

    def __init__(self, target: Any, stream_name: str, schema: dict[str, Any], key_properties: Any) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.export: Export = target.export
        settings = self.export.settings
        self.mapping = StreamMapping.resolve(
            stream_name,
            self.schema,
            settings.field_mapping,
            drop_invalid=settings.on_invalid_value == "drop_value",
        )
        self.export.register_stream(stream_name, self.schema, self.mapping)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return _CapturingValidator(self.schema) if self.validate_schema else None

    # Two SDK steps are replaced (private in singer-sdk 0.54, pinned): validation must reject a
    # record rather than stop the run, and timestamps are parsed only for the fields that are
    # mapped (by the mapping), not for every date column of every record.
    def _validate_and_parse(self, record: dict[str, Any]) -> dict[str, Any]:
        if self._validator is not None:
            self._validator.validate(record)
        return record

    def _singer_validate_message(self, record: dict[str, Any]) -> None:
        """Key properties mean nothing to Autopilot: a profile is identified by its email."""

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        lists = self.export.lists_for(self.stream_name, record)
        titles = lists if isinstance(lists, list) else []
        self.export.report.read(titles)
        violation = self._validator.violation if isinstance(self._validator, _CapturingValidator) else None
        if violation is not None:
            outcome: Rejection | Any = Rejection(
                "schema_violation", f"the record does not match the stream's schema at {violation}"
            )
        elif isinstance(lists, Rejection):
            outcome = lists
        else:
            outcome = self.mapping.convert(record)
        truncated: tuple[DroppedValue, ...] = ()
        if self.export.settings.api == ORTTO.name and not isinstance(outcome, Rejection):
            fitted = limits.fit(outcome, self.mapping.fields, drop_invalid=self.mapping.drop_invalid)
            if isinstance(fitted, limits.Fitted):
                outcome, truncated = fitted.contact, fitted.truncated
            else:
                outcome = fitted
        if isinstance(outcome, Rejection):
            raw = record.get(self.mapping.email_source)
            email = normalise_email(raw)
            self.export.reject(self.stream_name, titles, outcome, record, email, person_of(raw))
            return
        for dropped in outcome.dropped:
            self.export.drop_value(self.stream_name, titles, dropped, record, outcome.email)
        for cut in truncated:
            self.export.cut_value(self.stream_name, cut, record)
        self.export.stage(outcome, titles, self.stream_name, record_json(record))
