"""The sink: validates, maps and stages each record of a stream. It never talks to Autopilot."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import RecordSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator

from target_autopilot.mapping import Rejection, StreamMapping
from target_autopilot.rejects import record_json

if TYPE_CHECKING:
    from target_autopilot.export import Export


class _CapturingValidator(BaseJSONSchemaValidator):
    """Schema validation that notes the first violation instead of stopping the run.

    Most taps send flat schemas (properties with a `type`, maybe a `format`). For those, a
    precompiled type check per property answers "valid" in a few microseconds; jsonschema runs
    only for the schema shapes the fast check does not cover, and for a record the fast check
    finds invalid (so the message is jsonschema's own). The fast check accepts exactly what
    jsonschema's Draft 2020-12 type checker accepts; formats are not checked by either.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self._checker = JSONSchemaValidator(schema).validator
        self._fast = _compile_flat(schema)
        self.violation: str | None = None

    def validate(self, record: dict[str, Any]) -> None:
        if self._fast is not None and self._fast(record):
            self.violation = None
            return
        error = next(iter(self._checker.iter_errors(record)), None)
        if error is None:
            self.violation = None
            return
        where = "/".join(str(part) for part in error.absolute_path) or "(record)"
        self.violation = f"{where}: {error.message[:300]}"


# Keywords that never make a record invalid (annotations; `format` is not checked).
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "default",
        "examples",
        "format",
        "readOnly",
        "writeOnly",
        "deprecated",
        "$comment",
    }
)


_JSON_TYPES = frozenset({"string", "null", "boolean", "integer", "number", "array", "object"})
_CLASSES: dict[str, tuple[type, ...]] = {"string": (str,), "array": (list,), "object": (dict,)}


def _type_check(prop: Any) -> Callable[[Any], bool] | None:
    """A check for one property's schema, or None when it is not a plain typed property."""
    if prop is True or prop == {}:
        return lambda _value: True
    if not isinstance(prop, Mapping) or not set(prop) <= _ANNOTATIONS | {"type"}:
        return None
    declared = prop.get("type")
    if declared is None:
        return lambda _value: True
    names = [declared] if isinstance(declared, str) else declared
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(name, str) and name in _JSON_TYPES for name in names)
    ):
        return None
    return _types_check(frozenset(names))


def _types_check(names: frozenset[str]) -> Callable[[Any], bool]:
    """jsonschema's Draft 2020-12 `type` check: bool is neither integer nor number, 1.0 is an integer."""
    classes = tuple(cls for name in sorted(names) for cls in _CLASSES.get(name, ()))
    null_ok, bool_ok = "null" in names, "boolean" in names
    number_ok, integer_ok = "number" in names, "integer" in names

    def check(value: Any) -> bool:
        if value is None:
            return null_ok
        if isinstance(value, bool):
            return bool_ok
        if classes and isinstance(value, classes):
            return True
        if number_ok:
            return isinstance(value, numbers.Number)
        if integer_ok:
            return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return False

    return check


def _compile_flat(schema: Mapping[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    """A fast validity check for a flat object schema, or None when the schema is not flat."""
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    flat = (
        set(schema) <= _ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
        and schema.get("type", "object") in ("object", ["object"])
        and schema.get("additionalProperties", True) in (True, {})
        and isinstance(properties, Mapping)
        and isinstance(required, list)
        and all(isinstance(name, str) for name in required)
    )
    if not flat:
        return None
    checks: list[tuple[str, Callable[[Any], bool]]] = []
    for name, prop in properties.items():
        check = _type_check(prop)
        if check is None:
            return None
        checks.append((name, check))
    compiled = tuple(checks)
    required_names = tuple(required)

    def valid(record: dict[str, Any]) -> bool:
        for name, check in compiled:
            if name in record and not check(record[name]):
                return False
        return all(name in record for name in required_names)

    return valid


class AutopilotSink(RecordSink):
    """Stages the records of one stream for the export."""

    # Records are staged as they arrive; a "full" batch has nothing left to flush.
    MAX_SIZE_DEFAULT = 1_000_000

    def __init__(self, target: Any, stream_name: str, schema: dict[str, Any], key_properties: Any) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.export: Export = target.export
        self.mapping = StreamMapping.resolve(stream_name, self.schema, self.export.settings.field_mapping)
        self.export.register_stream(stream_name, self.schema)

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
        if isinstance(outcome, Rejection):
            self.export.reject(self.stream_name, titles, outcome, record)
            return
        self.export.stage(outcome, titles, self.stream_name, record_json(record))
