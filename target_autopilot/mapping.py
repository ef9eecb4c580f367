"""Field mapping: which source property feeds which Autopilot field, and turning a record into a contact.

A `StreamMapping` is resolved once per stream from the settings and the stream's JSON schema; it then
turns each record into a normalised email plus the contact fields to send, or a `Rejection`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

from target_autopilot.errors import InputError
from target_autopilot.settings import custom_key_parts

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

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Lower-case ASCII host names: the only domains the email fast path takes.
_ASCII_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\Z")
_DOMAIN_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Rejection:
    """Why a record is not exported: a reason code and a message for people."""

    reason: str
    message: str


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
        specs = [
            FieldSpec(
                key=_field_key(key, properties.get(source)),
                source=source,
                kind=_kind(key, properties.get(source)),
            )
            for key, source in explicit.items()
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
        for spec in self.fields:
            value = record.get(spec.source)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            converted = convert_value(spec.kind, value)
            if isinstance(converted, Rejection):
                message = f"{spec.source!r} → {spec.key}: {converted.message}"
                if not self.drop_invalid:
                    return Rejection("invalid_value", message)
                dropped.append(DroppedValue(spec.source, spec.key, value, message))
                continue
            if converted is None:
                continue
            if spec.is_custom:
                custom[spec.key] = converted
            else:
                fields[spec.key] = converted
        if custom:
            fields["custom"] = custom
        return Contact(email, fields, tuple(dropped))


def normalise_email(value: object) -> str | None:
    """The trimmed, lower-cased address if it is syntactically valid, else None.

    email-validator does the RFC 5321/5322 checks (no DNS): hand-written regexes get them wrong.
    It costs about 50 µs an address, mostly on the domain, and a run's addresses share few
    domains. So an address made of a plain dot-atom local part (email-validator's own pattern)
    and a lower-case ASCII domain that email-validator already accepted unchanged is accepted
    without calling it again: for such an address it checks nothing else but the length, checked
    here too. Every other address goes through email-validator in full.
    """
    if not isinstance(value, str):
        return None
    candidate = value.strip().lower()
    local, at, domain = candidate.partition("@")
    if (
        at
        and len(candidate) <= EMAIL_MAX_LENGTH
        and DOT_ATOM_TEXT.match(local) is not None
        and _ASCII_DOMAIN.match(domain) is not None
        and _plain_domain_accepted(domain)
    ):
        return candidate
    try:
        # The normalised form, so composed and decomposed Unicode, or a punycode domain, make one profile.
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


_accepted_domains: dict[str, bool] = {}


def _plain_domain_accepted(domain: str) -> bool:
    """Whether email-validator accepts `domain` as it is (same ASCII and normalised form)."""
    known = _accepted_domains.get(domain)
    if known is None:
        try:
            checked = validate_email(f"a@{domain}", check_deliverability=False)
        except EmailNotValidError:
            known = False
        else:
            known = checked.domain == domain and checked.ascii_domain == domain
        if len(_accepted_domains) >= _DOMAIN_CACHE_LIMIT:
            _accepted_domains.clear()
        _accepted_domains[domain] = known
    return known


def convert_value(kind: str, value: Any) -> Any:
    """The value as Autopilot's field of this kind takes it, None to send nothing, or a Rejection."""
    converter = _CONVERTERS[kind]
    try:
        return converter(value)
    except (ValueError, TypeError, OverflowError):
        return Rejection("invalid_value", f"{_show(value)} is not a valid {_KIND_NAMES[kind]}")


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)) and math.isfinite(value):
        return str(value)
    if isinstance(value, (datetime, date)):
        return _to_date(value)
    raise TypeError


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    raise ValueError


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        number = float(text) if "." in text or "e" in text.lower() else int(text)
        if isinstance(number, float):
            if not number.is_integer():
                raise ValueError
            return int(number)
        return number
    raise TypeError


def _to_float(value: Any) -> float:
    # The SDK's msgspec reader hands JSON numbers with a fraction over as Decimal.
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise TypeError
    number = float(value.strip().replace(",", "") if isinstance(value, str) else value)
    if not math.isfinite(number):
        raise ValueError
    return number


def _to_date(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            text += "T00:00:00"
        # Python 3.10's fromisoformat does not take a trailing Z.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    else:
        raise TypeError
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _to_unsubscribed(value: Any) -> bool | None:
    # Only ever `true`: the target never re-subscribes anyone.
    return True if _to_bool(value) else None


_CONVERTERS = {
    "text": _to_text,
    "string": _to_text,
    "employees": _to_int,
    "integer": _to_int,
    "float": _to_float,
    "boolean": _to_bool,
    "date": _to_date,
    "unsubscribed": _to_unsubscribed,
}
_KIND_NAMES = {
    "text": "text value",
    "string": "text value",
    "employees": "whole number",
    "integer": "whole number",
    "float": "number",
    "boolean": "boolean (true/false)",
    "date": "date (ISO 8601)",
    "unsubscribed": "boolean (true/false)",
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
