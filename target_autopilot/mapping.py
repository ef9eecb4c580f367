"""Field mapping: which source property feeds which Autopilot field, and turning a record into a contact.

A `StreamMapping` is resolved once per stream from the settings and the stream's JSON schema; it then
turns each record into a normalised email plus the contact fields to send, or a `Rejection`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from target_autopilot.errors import InputError
from target_autopilot.settings import custom_key_parts
from target_autopilot.values import Rejection, convert_value, normalise_email

STANDARD_FIELDS = (
    "Email", "Twitter", "FirstName", "LastName", "Salutation", "Company", "NumberOfEmployees",
    "Title", "Industry", "Phone", "MobilePhone", "Fax", "Website", "MailingStreet", "MailingCity",
    "MailingState", "MailingPostalCode", "MailingCountry", "owner_name", "LeadSource", "Status",
    "LinkedIn", "unsubscribed",
)  # fmt: skip
CONTROL_FIELDS = ("_autopilot_list", "_NewEmail", "notify", "_autopilot_session_id", "custom")

# Usual column names, compared after lower-casing and dropping everything but letters and digits.
USUAL_NAMES = {
    "Email": ("email", "emailaddress", "contactemail", "primaryemail"),
    "FirstName": ("firstname", "givenname", "forename", "first"),
    "LastName": ("lastname", "surname", "familyname", "last"),
}


@dataclass(frozen=True)
class DroppedValue:
    """A value left out of a contact because its field cannot take it."""

    source: str
    key: str
    value: Any
    message: str


@dataclass(frozen=True)
class Contact:
    """A record turned into what Autopilot receives (without `Email`, which is `email`)."""

    email: str
    fields: dict[str, Any]
    dropped: tuple[DroppedValue, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    """One Autopilot field fed by one source property; `kind` says what values it takes."""

    key: str
    source: str
    kind: str  # "text", "employees", "unsubscribed", or a custom type: string/integer/float/date/boolean

    @property
    def is_custom(self) -> bool:
        return "--" in self.key


def mapping_key_problems(field_mapping: Mapping[str, str]) -> list[str]:
    """Mistakes in `field_mapping` that can be seen without any stream: bad keys, empty sources."""
    found = []
    by_folded = {name.lower(): name for name in STANDARD_FIELDS}
    for key, source in field_mapping.items():
        if not isinstance(source, str) or not source.strip():
            found.append(f"field_mapping.{key} is empty: name the source property that feeds it.")
        if key in STANDARD_FIELDS or custom_key_parts(key) is not None:
            continue
        if key in CONTROL_FIELDS:
            found.append(
                f"field_mapping key {key!r} is an Autopilot control field, not a contact field: "
                "remove it (lists come from `segments`/`segment_property`, `notify` is a setting)."
            )
        elif key.lower() in by_folded:
            found.append(
                f"field_mapping key {key!r} differs from the standard field "
                f"{by_folded[key.lower()]!r} only by case: write {by_folded[key.lower()]!r}."
            )
        elif "--" in key:
            found.append(
                f"field_mapping key {key!r} looks like a custom field but its type is not one of "
                "string, integer, float, date, boolean: write e.g. 'string--Loyalty--Tier'."
            )
        elif not key.strip():
            found.append("field_mapping has an empty key: name the Autopilot field.")
    return found


class StreamMapping:
    """How the records of one stream become contacts."""

    def __init__(
        self, stream: str, email_source: str, fields: Iterable[FieldSpec], *, drop_invalid: bool = True
    ) -> None:
        self.stream = stream
        self.email_source = email_source
        self.fields = tuple(fields)
        self.drop_invalid = drop_invalid
        # Values given, not blank, per field in `fields` order (cheaper per record than a Counter).
        self._filled = [0] * len(self.fields)
        self._steps = tuple(
            (number, spec.source, spec.key, spec.kind, spec.is_custom)
            for number, spec in enumerate(self.fields)
        )

    @property
    def filled(self) -> Counter[tuple[str, str]]:
        """(field, property) → values given, not blank."""
        counts: Counter[tuple[str, str]] = Counter()
        for spec, count in zip(self.fields, self._filled, strict=True):
            if count:
                counts[spec.key, spec.source] += count
        return counts

    @classmethod
    def resolve(
        cls,
        stream: str,
        schema: Mapping[str, Any],
        field_mapping: Mapping[str, str],
        *,
        drop_invalid: bool = True,
    ) -> StreamMapping:
        """Resolve the mapping for a stream, or raise InputError naming what is missing."""
        properties: Mapping[str, Any] = schema.get("properties") or {}
        explicit = dict(field_mapping)
        for key in USUAL_NAMES:
            if key not in explicit and (found := _find_usual(key, properties)) is not None:
                explicit[key] = found
        email_source = explicit.pop("Email", None)
        available = ", ".join(sorted(properties)) or "(none)"
        if email_source is None:
            raise InputError(
                f"Stream {stream!r} has no email property. Looked for the usual names "
                f"(email, email_address, e-mail, …) among: {available}. "
                'Map it with field_mapping: {"Email": "<property>"}.'
            )
        if email_source not in properties:
            raise InputError(
                f"field_mapping maps Email to {email_source!r}, which stream {stream!r} does "
                f"not have. Available properties: {available}."
            )
        # A property the stream lacks feeds nothing: its field is absent for this stream's people,
        # and it gives the field no type (a view without the column is no type conflict).
        specs = [
            FieldSpec(
                key=_field_key(key, properties[source]),
                source=source,
                kind=_kind(key, properties[source]),
            )
            for key, source in explicit.items()
            if source in properties
        ]
        return cls(stream, email_source, specs, drop_invalid=drop_invalid)

    def sources(self) -> set[str]:
        """Every source property this mapping reads."""
        return {self.email_source, *(spec.source for spec in self.fields)}

    def convert(self, record: Mapping[str, Any]) -> Contact | Rejection:
        """Turn a record into a contact, or say why it cannot be exported."""
        raw_email = record.get(self.email_source)
        if raw_email is None or (isinstance(raw_email, str) and not raw_email.strip()):
            return Rejection("missing_email", f"no value in the email property {self.email_source!r}")
        email = normalise_email(raw_email)
        if email is None:
            return Rejection(
                "invalid_email",
                f"{self.email_source!r} holds {str(raw_email)[:200]!r}, which is not a valid email address",
            )
        fields: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        dropped: list[DroppedValue] = []
        filled = self._filled
        for number, source, key, kind, is_custom in self._steps:
            value = record.get(source)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            filled[number] += 1
            converted = convert_value(kind, value)
            if converted is None:
                continue
            if isinstance(converted, Rejection):
                message = f"{source!r} → {key}: {converted.message}"
                if not self.drop_invalid:
                    return Rejection("invalid_value", message)
                dropped.append(DroppedValue(source, key, value, message))
                continue
            if is_custom:
                custom[key] = converted
            else:
                fields[key] = converted
        if custom:
            fields["custom"] = custom
        return Contact(email, fields, tuple(dropped))


def _find_usual(key: str, properties: Mapping[str, Any]) -> str | None:
    folded = {re.sub(r"[^a-z0-9]", "", name.lower()): name for name in reversed(list(properties))}
    for usual in USUAL_NAMES[key]:
        if usual in folded:
            return folded[usual]
    return None


def schema_custom_type(prop: Mapping[str, Any] | None) -> str:
    """The Autopilot custom field type for a JSON schema property."""
    if not prop:
        return "string"
    types: list[str] = []
    declared = prop.get("type")
    if isinstance(declared, str):
        types.append(declared)
    elif isinstance(declared, list):
        types += [t for t in declared if isinstance(t, str)]
    for option in prop.get("anyOf", []) + prop.get("oneOf", []):
        if isinstance(option, Mapping):
            types.append(schema_custom_type(option))
    concrete = [t for t in types if t != "null"]
    if prop.get("format") in ("date", "date-time") or "date" in concrete:
        return "date"
    if concrete and all(t == "integer" for t in concrete):
        return "integer"
    if concrete and all(t in ("integer", "number", "float") for t in concrete):
        return "float"
    if concrete and all(t == "boolean" for t in concrete):
        return "boolean"
    return "string"


def _field_key(key: str, prop: Mapping[str, Any] | None) -> str:
    if key in STANDARD_FIELDS or custom_key_parts(key) is not None:
        return key
    return f"{schema_custom_type(prop)}--{key.strip().replace(' ', '--')}"


def _kind(key: str, prop: Mapping[str, Any] | None) -> str:
    if key == "unsubscribed":
        return "unsubscribed"
    if key == "NumberOfEmployees":
        return "employees"
    if key in STANDARD_FIELDS:
        return "text"
    parts = custom_key_parts(key)
    return parts[0] if parts is not None else schema_custom_type(prop)
