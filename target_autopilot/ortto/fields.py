"""Ortto field ids for the mapped fields: built-ins, custom fields read (and created) before the first
merge, and values converted both ways (staged → merge body, stored → the plan's terms)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from target_autopilot import fieldtypes
from target_autopilot.client import AutopilotClient, RequestFailed
from target_autopilot.errors import ApiRefused, ApiUnavailable
from target_autopilot.fieldtypes import MappedField
from target_autopilot.holdings import HeldContact

EMAIL = "str::email"
# Classic standard fields with an Ortto built-in counterpart; geo fields take {"name": ...}.
BUILT_IN = {
    "FirstName": "str::first",
    "LastName": "str::last",
    "MailingPostalCode": "str::postal",
    "MailingCity": "geo::city",
    "MailingState": "geo::region",
    "MailingCountry": "geo::country",
}
STANDARD_KINDS = {"NumberOfEmployees": "integer"}  # other standard fields without a built-in are text
# The mapping's types (Classic's names) → custom-field/create `type`.
CREATE_TYPES = {"string": "text", "integer": "integer", "float": "decimal", "boolean": "bool", "date": "time"}
# An existing field's display_type → the mapping type whose values it takes.
STORED_KINDS = {
    "text": "string", "large_text": "string", "single_select": "string", "link": "string",
    "integer": "integer", "decimal": "float", "currency": "float", "price": "float",
    "bool": "boolean", "time": "date", "date": "date",
}  # fmt: skip
THOUSANDTHS = 1000  # decimal, currency and price values are stored as integers x 1000


@dataclass(frozen=True)
class OrttoField:
    """Where one staged key goes: the Ortto field id, the mapping type, and the plan's name for it."""

    key: str  # the staged key: a standard name or `type--Name`
    field_id: str
    kind: str  # string, integer, float, boolean, date
    name: str  # display name (custom) or standard name
    stored_as: str = ""  # display_type of a custom field

    @property
    def custom(self) -> bool:
        return "--" in self.key


def field_name(key: str) -> str:
    """A mapped key as Ortto knows it: a built-in's id (`str::first`), else the field's display name
    (`date--Signup--Date` → `Signup Date`; its id is only known once the account has been read)."""
    if key in BUILT_IN:
        return BUILT_IN[key]
    return key.split("--", 1)[1].replace("--", " ") if "--" in key else key


def kebab(name: str) -> str:
    """A display name as Ortto's field ids spell it: "Loyalty Tier" → "loyalty-tier"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class FieldMap:
    """The Ortto fields of a run's mapping; `prepare` reads and creates them before the first merge."""

    def __init__(self, mapped: Collection[MappedField]) -> None:
        self._wanted: dict[str, MappedField] = {}
        for field in sorted(mapped, key=lambda f: (f.key, f.stream, f.source)):
            self._wanted.setdefault(field.key, field)
        self.fields: dict[str, OrttoField] = {}
        self.created: list[str] = []
        # Staged key → (field id, or "" for a key not sent; its `sender`).
        self._steps: dict[str, tuple[str, Callable[[Any], Any] | None]] = {}

    def prepare(self, client: AutopilotClient, logger: logging.Logger, *, create: bool) -> None:
        """Resolve every key to a field id: `custom-field/get`, then one `custom-field/create` per
        missing field and a second `get` to read the new ids back (never guessed)."""
        self._steps.clear()  # worked out from the fields as they were: gone with them
        for key in self._wanted:
            if key in BUILT_IN:
                self.fields[key] = OrttoField(key, BUILT_IN[key], "string", key)
        custom = [field for key, field in self._wanted.items() if key not in BUILT_IN]
        if not custom:
            return
        stored = _read_fields(client)
        fieldtypes.check(
            [_as_custom(field) for field in custom],
            lambda: {
                field.name: STORED_KINDS.get(stored[kebab(field.name)][1], stored[kebab(field.name)][1])
                for field in custom
                if kebab(field.name) in stored
            },
        )
        missing = [field for field in custom if kebab(field.name) not in stored]
        if missing and create:
            for field in missing:
                if not _create(client, field):  # the request failed, and may have created it anyway
                    stored = _read_fields(client)
                    if kebab(field.name) not in stored:
                        raise ApiUnavailable(
                            f"Creating the custom field {field.name!r} failed. Nothing was merged and "
                            "no STATE was written: run the export again later."
                        )
                self.created.append(field.name)
                logger.info("Created the custom field %r (%s)", field.name, CREATE_TYPES[_kind(field)])
            stored = _read_fields(client)
        for field in custom:
            found = stored.get(kebab(field.name))
            if found is None:  # a dry run: the field would be created; nothing is stored in it yet
                continue
            field_id, display_type = found
            self.fields[field.key] = OrttoField(field.key, field_id, _kind(field), field.name, display_type)

    def missing(self) -> list[str]:
        """Display names of the fields that do not exist (yet)."""
        return [field.name for key, field in self._wanted.items() if key not in self.fields]

    def ids(self) -> list[str]:
        """Every field id to read back for change detection, email first."""
        return [EMAIL, *sorted({field.field_id for field in self.fields.values()})]

    def person(self, email: str, staged: dict[str, Any]) -> dict[str, Any]:
        """The `fields` of a merge for a staged profile."""
        values: dict[str, Any] = {EMAIL: email}
        steps = self._steps
        for key, value in _items(staged):
            step = steps.get(key)
            if step is None:  # worked out once a key, not once a value
                field = self.fields.get(key)
                step = steps[key] = ("", None) if field is None else (field.field_id, sender(field))
            field_id, send = step
            if field_id:
                values[field_id] = value if send is None else send(value)
        return values

    def held(self, email: str, stored: dict[str, Any]) -> HeldContact:
        """A person as `person/get` returned them, in the plan's terms (see `holdings`)."""
        return self.reader()(email, stored)

    def reader(self) -> Callable[[str, dict[str, Any]], HeldContact]:
        """`held` for a page of people: what each field needs is worked out once, not per person."""
        steps = [
            (field.field_id, field.name, field.kind, field.custom, field if _converted(field) else None)
            for field in self.fields.values()
        ]

        def held(email: str, stored: dict[str, Any]) -> HeldContact:
            standard: dict[str, Any] = {}
            custom: dict[str, tuple[str, Any]] = {}
            for field_id, name, kind, is_custom, converted in steps:
                value = stored.get(field_id)
                if value is None:
                    continue
                if converted is not None:
                    value = from_ortto(converted, value)
                if is_custom:
                    custom[name] = (kind, value)
                else:
                    standard[name] = value
            return HeldContact(email, standard, custom)

        return held


def sender(field: OrttoField) -> Callable[[Any], Any] | None:
    """How a staged value of this field is sent as Ortto stores it; None when it is sent as it is.
    Chosen once a field, not once a value: a run sends millions."""
    prefix = field.field_id.split(":", 1)[0]
    if prefix == "geo":
        return _geo
    if field.kind == "float" or field.stored_as in ("decimal", "currency", "price"):
        return _thousandths
    if prefix == "dtz":
        return _day
    return None


def _geo(value: Any) -> Any:
    return {"name": value}


def _thousandths(value: Any) -> Any:
    return round(float(value) * THOUSANDTHS)


def _day(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return {"year": moment.year, "month": moment.month, "day": moment.day, "timezone": "UTC"}


def from_ortto(field: OrttoField, value: Any) -> Any:
    """A stored Ortto value as the staged value it was made from."""
    prefix = field.field_id.split(":", 1)[0]
    if prefix == "geo" and isinstance(value, dict):
        return value.get("name")
    if field.stored_as in ("decimal", "currency", "price") and isinstance(value, int):
        return value / THOUSANDTHS
    if prefix == "dtz" and isinstance(value, dict):
        return f"{value.get('year', 0):04d}-{value.get('month', 0):02d}-{value.get('day', 0):02d}T00:00:00Z"
    return value


def _converted(field: OrttoField) -> bool:
    """Whether `from_ortto` can change a value of this field (else it returns every value as it is)."""
    return field.field_id.split(":", 1)[0] in ("geo", "dtz") or field.stored_as in (
        "decimal",
        "currency",
        "price",
    )


def _items(staged: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in staged.items():
        if key == "custom" and isinstance(value, dict):
            yield from value.items()
        else:
            yield key, value


def _kind(field: MappedField) -> str:
    return field.type if field.is_custom else STANDARD_KINDS.get(field.key, "string")


def _as_custom(field: MappedField) -> MappedField:
    """A standard field without an Ortto built-in, as the custom field that holds it."""
    if field.is_custom:
        return field
    return MappedField(f"{_kind(field)}--{field.key}", field.source, field.stream)


def _read_fields(client: AutopilotClient) -> dict[str, tuple[str, str]]:
    """kebab(name) → (field id, display_type) of every custom person field."""
    answer = client.call(
        "POST", "person", "custom-field", "get", body={}, endpoint="/person/custom-field/get"
    )
    if not answer.ok:
        raise ApiRefused(f"Ortto refused to list the custom fields (HTTP {answer.status}): {answer.message}")
    found: dict[str, tuple[str, str]] = {}
    for item in answer.body.get("fields") or []:
        inner = item.get("field") if isinstance(item, dict) else None
        if not isinstance(inner, dict):
            continue
        field_id, name = inner.get("id"), inner.get("name")
        if isinstance(field_id, str) and isinstance(name, str):
            found[kebab(name)] = (field_id, str(inner.get("display_type") or ""))
    return found


def _create(client: AutopilotClient, field: MappedField) -> bool:
    """Create the field; False when the request failed without an answer (it may have run)."""
    kind = CREATE_TYPES[_kind(field)]
    try:
        answer = client.call(
            "POST",
            "person",
            "custom-field",
            "create",
            body={"type": kind, "name": field.name, "track_changes": False},
            endpoint="/person/custom-field/create",
            idempotent=False,
        )
    except RequestFailed:
        return False
    if not answer.ok:
        raise ApiRefused(
            f"Ortto refused to create the custom field {field.name!r} ({kind}, for {field.describe()}): "
            f"{answer.message}. Nothing was merged. Create it in Ortto, or map the value elsewhere."
        )
    return True
