"""What Autopilot holds, in the plan's terms, and whether it already has every value a profile would send.

An API-specific reader fills `HeldContact`s (standard fields by name, custom fields by display name
with their type); the plan compares them with the staged fields. Any doubt means "changed": a
field the API did not show, a different type, a value that cannot be read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

from target_autopilot.settings import custom_key_parts

_NUMBER_FIELDS = frozenset({"NumberOfEmployees"})
_BOOLEAN_FIELDS = frozenset({"unsubscribed"})


@dataclass(frozen=True)
class HeldContact:
    """One contact as stored: standard fields by name, custom fields as display name → (type, value)."""

    email: str
    fields: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        """The stored values as JSON text, as staging keeps them."""
        return _ENCODER.encode([self.fields, self.custom]).decode()


_ENCODER = msgspec.json.Encoder()
_decode = msgspec.json.decode


def unchanged(staged: str, held: str) -> bool:
    """Whether every field in `staged` (a staged contact's JSON) is stored with an equal value in `held`."""
    wanted: dict[str, Any] = _decode(staged)
    fields, custom = _decode(held)
    for key, value in wanted.items():
        if key == "custom":
            continue
        if key not in fields:
            return False
        stored = fields[key]
        if key in _NUMBER_FIELDS or key in _BOOLEAN_FIELDS:
            if not same_value("float" if key in _NUMBER_FIELDS else "boolean", value, stored):
                return False
        elif not (isinstance(stored, str) and stored == value):  # same_value of a "string", inlined
            return False
    for key, value in (wanted.get("custom") or {}).items():
        kind, name = _custom_field(key)
        held_value = custom.get(name)
        if held_value is None or held_value[0] != kind or not same_value(kind, value, held_value[1]):
            return False
    return True


@lru_cache(maxsize=1024)
def _custom_field(key: str) -> tuple[str, str]:
    """(type, display name) of a `type--Name` key: "string--Loyalty--Tier" is the field "Loyalty Tier"."""
    parts = custom_key_parts(key)
    return ("", "") if parts is None else (parts[0], parts[1].replace("--", " "))


def same_value(kind: str, sent: Any, stored: Any) -> bool:
    """Whether `stored` equals `sent` the way the API stores a value of this kind."""
    if kind in ("integer", "float"):
        if isinstance(sent, int) and isinstance(stored, int) and not isinstance(stored, bool):
            return sent == stored  # exact, also beyond float precision
        return _is_number(sent) and _is_number(stored) and float(sent) == float(stored)
    if kind == "boolean":
        return isinstance(stored, bool) and stored == sent
    if kind == "date":
        if isinstance(sent, str) and sent == stored:  # the usual unchanged date: one parse, not two
            return _instant(sent) is not None
        sent_at, stored_at = _instant(sent), _instant(stored)
        return sent_at is not None and sent_at == stored_at
    return isinstance(stored, str) and stored == sent


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 date-time with a time zone as an aware datetime; None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
