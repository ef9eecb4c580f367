"""Checking one contact object of a request body and turning it into a `ContactWrite`.

Only checks that need no stored state live here (names, types, shapes); the API layer checks the
rest (custom field types already stored, list ids) inside its transaction.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import NamedTuple, TypeGuard

STANDARD_FIELDS = frozenset(
    {
        "Email",
        "Twitter",
        "FirstName",
        "LastName",
        "Salutation",
        "Company",
        "NumberOfEmployees",
        "Title",
        "Industry",
        "Phone",
        "MobilePhone",
        "Fax",
        "Website",
        "MailingStreet",
        "MailingCity",
        "MailingState",
        "MailingPostalCode",
        "MailingCountry",
        "owner_name",
        "LeadSource",
        "Status",
        "LinkedIn",
    }
)
CONTROL_FIELDS = frozenset({"_autopilot_list", "_NewEmail", "notify", "_autopilot_session_id"})
CUSTOM_TYPES = ("string", "integer", "float", "date", "boolean")
_KNOWN_KEYS = STANDARD_FIELDS | CONTROL_FIELDS | {"custom", "unsubscribed"}

FieldValue = str | int | float | bool


class ContactError(ValueError):
    """A contact object the real API would refuse; the message names the offending field."""


# Named tuples rather than frozen dataclasses: a bulk request makes hundreds of them, and a
# frozen dataclass costs about four times as much to create.
class CustomValue(NamedTuple):
    """One custom field write: "integer--Visit--Count": 3 is name "Visit Count", type "integer"."""

    name: str
    field_type: str
    value: FieldValue


class ContactWrite(NamedTuple):
    """A checked contact object, ready to be upserted."""

    email: str
    fields: dict[str, str | int | float]
    custom: tuple[CustomValue, ...]
    unsubscribed: bool | None
    list_id: str | None
    new_email: str | None


def parse_contact(raw: object) -> ContactWrite:
    """Check a contact object from a request body; raise ContactError on the first problem."""
    if not isinstance(raw, dict):
        raise ContactError("A contact must be a JSON object.")
    if not _KNOWN_KEYS.issuperset(raw):
        key = next(key for key in raw if key not in _KNOWN_KEYS)
        raise ContactError(
            f"Unknown contact field '{key}': not a standard field, 'custom' or a control field."
        )
    email = raw.get("Email")
    if not isinstance(email, str) or not email.strip():
        raise ContactError("Email is required and must be a non-empty string.")
    _optional_text(raw, "_autopilot_session_id")
    _optional_flag(raw, "notify")
    return ContactWrite(
        email,
        _standard_fields(raw),
        _custom_values(raw.get("custom", {})),
        _optional_flag(raw, "unsubscribed"),
        _optional_text(raw, "_autopilot_list"),
        _optional_text(raw, "_NewEmail"),
    )


def _optional_text(raw: dict[str, object], key: str) -> str | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise ContactError(f"Field '{key}' must be a non-empty string.")
    return value


def _optional_flag(raw: dict[str, object], key: str) -> bool | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, bool):
        raise ContactError(f"Field '{key}' must be true or false.")
    return value


def _standard_fields(raw: dict[str, object]) -> dict[str, str | int | float]:
    fields: dict[str, str | int | float] = {}
    for key, value in raw.items():
        if key not in STANDARD_FIELDS or key == "Email":
            continue
        if isinstance(value, str) or (key == "NumberOfEmployees" and _is_number(value)):
            fields[key] = value
        else:
            raise ContactError(f"Field '{key}' must be a string, got {_json_type(value)}.")
    return fields


def _custom_values(raw: object) -> tuple[CustomValue, ...]:
    if not isinstance(raw, dict):
        raise ContactError("Field 'custom' must be an object of \"type--Name\": value pairs.")
    return tuple([_custom_value(key, value) for key, value in raw.items()])


def _custom_value(key: str, value: object) -> CustomValue:
    parsed = _custom_key(key)
    if parsed is None:
        raise ContactError(
            f"Custom field key '{key}' must look like 'type--Name' with type one of "
            f"{', '.join(CUSTOM_TYPES)}."
        )
    field_type, name = parsed
    if _matches_type(value, field_type):
        return CustomValue(name, field_type, value)
    raise ContactError(
        f"Custom field '{name}' is declared {field_type} but the value is {_json_type(value)}."
    )


@lru_cache(maxsize=4096)
def _custom_key(key: str) -> tuple[str, str] | None:
    """(type, name) of a "type--Name" key, None when it is not one; a bulk repeats a few keys."""
    field_type, separator, encoded_name = key.partition("--")
    if not separator or not encoded_name or field_type not in CUSTOM_TYPES:
        return None
    return field_type, encoded_name.replace("--", " ")


def _matches_type(value: object, field_type: str) -> TypeGuard[FieldValue]:
    if field_type == "boolean":
        return isinstance(value, bool)
    if field_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if field_type == "float":
        return _is_number(value)
    if field_type == "date":
        return isinstance(value, str) and _is_iso_date(value)
    return isinstance(value, str)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_iso_date(value: str) -> bool:
    # Python 3.10's fromisoformat does not read a trailing "Z".
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
