"""Value conversion: a source value as a field of one kind takes it, and email addresses normalised.

Each converter takes what taps send (strings, numbers, booleans, dates) and gives the value to send,
None to send nothing, or a `Rejection` saying why the field cannot take it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A whole second in UTC from year 1000 on, as taps mostly send it: already in the form sent but
# for the milliseconds, so it needs no conversion (it is still parsed, to refuse a 13th month).
_WHOLE_SECOND_UTC = re.compile(r"[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|z|\+00:00)\Z", re.ASCII)
# Lower-case ASCII host names: the only domains the email fast path takes.
_ASCII_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\Z")
_DOMAIN_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Rejection:
    """Why a record is not exported: a reason code and a message for people."""

    reason: str
    message: str


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
        if _WHOLE_SECOND_UTC.match(text):
            datetime.fromisoformat(text[:19])
            return text[:19] + ".000Z"
        if _DATE_ONLY.match(text):
            text += "T00:00:00"
        # Python 3.10's fromisoformat does not take a trailing Z.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    else:
        raise TypeError
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    # As strftime("%Y-%m-%dT%H:%M:%S.") writes it (the year unpadded), at a third of its cost.
    return (
        f"{moment.year}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


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
