"""Values Ortto is known to refuse, caught while staging so no request pays a 4xx for them.

Text over Ortto's string limit (255 characters) is cut to it and the cut is written to the rejected
file (`value_truncated`); a whole number outside int64, or a decimal whose thousandths are, is
refused like any invalid value. Dates and emails were already checked by the mapping in the shapes
Ortto takes (RFC 3339 date-times; email-validator's addresses, at most 254 characters).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from target_autopilot.mapping import Contact, DroppedValue, FieldSpec
from target_autopilot.values import Rejection

STRING_MAX = 255  # Ortto `str` fields; the target creates text fields as `str`, never `txt`
INT_RANGE = range(-(2**63), 2**63)
THOUSANDTHS = 1000  # decimals are stored as integers times 1000
TEXT_KINDS = frozenset({"text", "string"})
FLOAT_SAFE = 2**62 / THOUSANDTHS  # a decimal below this in size has its thousandths in int64


@dataclass(frozen=True)
class Fitted:
    """A contact whose values Ortto takes, and the values that were cut to get there."""

    contact: Contact
    truncated: tuple[DroppedValue, ...]


def fit(contact: Contact, specs: Iterable[FieldSpec], *, drop_invalid: bool) -> Fitted | Rejection:
    """The contact with every value in Ortto's limits, or a Rejection (`reject_record` mode)."""
    if not _may_be_over(contact.fields):
        return Fitted(contact, ())  # the usual case: nothing to cut, no copy
    standard = dict(contact.fields)
    custom: dict[str, Any] = dict(standard.pop("custom", None) or {})
    truncated: list[DroppedValue] = []
    dropped = list(contact.dropped)
    for spec in specs:
        values = custom if spec.is_custom else standard
        value = values.get(spec.key)
        if value is None:
            continue
        if spec.kind in TEXT_KINDS and isinstance(value, str) and len(value) > STRING_MAX:
            message = (
                f"{spec.source!r} → {spec.key}: {len(value)} characters, cut to Ortto's limit of {STRING_MAX}"
            )
            if not drop_invalid:
                return Rejection("invalid_value", message)
            values[spec.key] = value[:STRING_MAX]
            truncated.append(DroppedValue(spec.source, spec.key, value, message))
        elif _out_of_range(spec.kind, value):
            message = (
                f"{spec.source!r} → {spec.key}: {value} is outside the whole numbers Ortto stores (int64)"
            )
            if not drop_invalid:
                return Rejection("invalid_value", message)
            del values[spec.key]
            dropped.append(DroppedValue(spec.source, spec.key, value, message))
    if custom:
        standard["custom"] = custom
    return Fitted(replace(contact, fields=standard, dropped=tuple(dropped)), tuple(truncated))


def _may_be_over(fields: dict[str, Any]) -> bool:
    """Whether any value could be over a limit, whatever its field's kind (False: `fit` changes nothing)."""
    for value in fields.values():
        if isinstance(value, str):
            if len(value) > STRING_MAX:
                return True
        elif isinstance(value, int):
            if value not in INT_RANGE:
                return True
        elif isinstance(value, float):
            if not abs(value) < FLOAT_SAFE:
                return True
        elif isinstance(value, dict) and _may_be_over(value):  # the custom fields
            return True
    return False


def _out_of_range(kind: str, value: Any) -> bool:
    if kind in ("integer", "employees") and isinstance(value, int):
        return value not in INT_RANGE
    if kind == "float" and isinstance(value, float):
        return round(value * THOUSANDTHS) not in INT_RANGE
    return False
