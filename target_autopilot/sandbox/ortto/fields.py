"""Ortto field ids (`str::email`, `int:cm:orders`): the built-in ones, custom types, value checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STRING_MAX = 255
TEXT_MAX = 4000
EMAIL = "str::email"
EXTERNAL_ID = "str::ei"
PERSON_ID = "str::person_id"
TAG_IDS = "u4s::t"  # a person's tags: a list of integer tag ids (there is no field `tags`)
READ_ONLY = frozenset({TAG_IDS, "idt::o"})
BUILT_IN = frozenset(
    {
        "str::first", "str::last", "str::name", EMAIL, EXTERNAL_ID, "str::postal", "str::language",
        "phn::phone", "geo::city", "geo::region", "geo::country", "dtz::b",
        "bol::gdpr", "bol::p", "bol::sp", "str::u-ctx", "str::s-ctx", "str::soi-ctx", "str::soo-ctx",
        "str::fcm_ios_token", "str::apn_ios_token", "str::android_token",
    }
)  # fmt: skip
# custom-field/create `type` → (field id prefix, display_type). Decimals live in `int` fields, times 1000.
CUSTOM_TYPES: dict[str, str] = {
    "text": "str",
    "large_text": "txt",
    "integer": "int",
    "decimal": "int",
    "currency": "int",
    "price": "int",
    "date": "dtz",
    "time": "tme",
    "bool": "bol",
    "phone": "phn",
    "single_select": "str",
    "multi_select": "sst",
    "link": "str",
    "object": "obj",
}
SELECTS = frozenset({"single_select", "multi_select"})
THOUSANDTHS = frozenset({"decimal", "currency", "price"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class CustomField:
    """A custom person field as `custom-field/create` made it."""

    field_id: str
    name: str
    display_type: str
    values: tuple[str, ...] = field(default=())
    track_changes: bool = False

    def to_json(self) -> dict[str, object]:
        """The field as the store persists it."""
        return {
            "field_id": self.field_id,
            "name": self.name,
            "display_type": self.display_type,
            "values": list(self.values),
            "track_changes": self.track_changes,
        }


def kebab(name: str) -> str:
    """A display name as the name part of a field id: "Job Title" → "job-title"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def value_error(field_id: str, value: object, custom: CustomField | None) -> str | None:
    """Why `value` cannot be stored in the field, or None when it can (None values are checked apart)."""
    prefix = field_id.split(":", 1)[0]
    problem = _type_error(prefix, value)
    if problem is None and field_id == EMAIL and not _EMAIL.match(str(value)):
        problem = "not a valid email address"
    if problem is None and custom is not None and custom.values:
        chosen = value if isinstance(value, list) else [value]
        if any(item not in custom.values for item in chosen):
            problem = f"not one of the field's values {list(custom.values)}"
    return None if problem is None else f"failed to validate field {field_id}: {problem}"


def _type_error(prefix: str, value: object) -> str | None:  # noqa: PLR0911 - one answer per type
    if prefix in {"str", "txt"}:
        limit = STRING_MAX if prefix == "str" else TEXT_MAX
        if not isinstance(value, str):
            return "expected a string"
        return None if len(value) <= limit else f"longer than {limit} characters"
    if prefix == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
        return None if ok else "expected an integer (decimals are sent times 1000)"
    if prefix == "bol":
        return None if isinstance(value, bool) else "expected true or false"
    if prefix == "tme":
        ok = isinstance(value, str) and _RFC3339.match(value) is not None
        return None if ok else "expected an RFC 3339 date-time"
    if prefix == "sst":
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return None if ok else "expected an array of strings"
    if not isinstance(value, dict):
        return "expected an object"
    return _object_error(prefix, value)


def _object_error(prefix: str, value: dict[str, object]) -> str | None:
    if prefix == "dtz" and not all(isinstance(value.get(key), int) for key in ("year", "month", "day")):
        return 'expected {"year", "month", "day"} integers'
    if prefix == "geo" and not isinstance(value.get("name"), str):
        return 'expected {"name": ...}'
    if prefix == "phn" and not (isinstance(value.get("phone"), str) or isinstance(value.get("n"), str)):
        return 'expected {"c", "n"} or {"phone", "parse_with_country_code"}'
    return None
