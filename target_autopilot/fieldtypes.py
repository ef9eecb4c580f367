"""Custom field types checked before the first write: against each other and against the account's fields."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from target_autopilot.client import AutopilotClient
from target_autopilot.errors import ExportError
from target_autopilot.settings import custom_key_parts


class FieldTypeConflict(ExportError):
    """A custom field mapped with a type Autopilot cannot store in it."""


@dataclass(frozen=True)
class MappedField:
    """One custom field as a stream's mapping sends it: `type--Name` key, its source, and the stream."""

    key: str
    source: str
    stream: str

    @property
    def name(self) -> str:
        return _parts(self.key)[1]

    @property
    def type(self) -> str:
        return _parts(self.key)[0]

    def describe(self) -> str:
        return f"{self.key!r} ← property {self.source!r} of stream {self.stream!r}"


def check(fields: Iterable[MappedField], client: AutopilotClient, logger: logging.Logger) -> None:
    """Raise FieldTypeConflict, before anything is written, for a field with two types or a type the
    account's field does not have. Costs one request (`GET /contacts/custom_fields`)."""
    by_name: dict[str, list[MappedField]] = {}
    for field in fields:
        by_name.setdefault(field.name, []).append(field)
    if not by_name:
        return
    problems = [_mixed(name, mapped) for name, mapped in sorted(by_name.items())]
    account = _account_fields(client, logger)
    for name, mapped in sorted(by_name.items()):
        stored = account.get(name)
        for item in {m.type: m for m in mapped}.values():
            if stored is not None and item.type != stored:
                problems.append(
                    f"The custom field {name!r} is a {stored} field in Autopilot, but field_mapping sends "
                    f"it a {item.type} value ({item.describe()}). Map it as "
                    f"'{stored}--{name.replace(' ', '--')}' to write the existing field, or give the "
                    "value another field name."
                )
    found = [problem for problem in problems if problem]
    if found:
        raise FieldTypeConflict(" ".join(found) + " Nothing was written to Autopilot.")


def _mixed(name: str, mapped: list[MappedField]) -> str:
    types = sorted({m.type for m in mapped})
    if len(types) < 2:
        return ""
    sources = "; ".join(sorted({m.describe() for m in mapped}))
    return (
        f"The custom field {name!r} is mapped with {len(types)} types ({', '.join(types)}): {sources}. "
        "A field has one type: map it once, or write every key with the same type."
    )


def _account_fields(client: AutopilotClient, logger: logging.Logger) -> dict[str, str]:
    answer = client.call("GET", "contacts", "custom_fields", endpoint="/contacts/custom_fields")
    items = answer.body.get("items")
    if not answer.ok or not isinstance(items, list):
        logger.warning(
            "Could not read the account's custom fields (GET /contacts/custom_fields answered %d: %s); "
            "their types are not checked before writing",
            answer.status,
            answer.message,
        )
        return {}
    pairs = ((item.get("name"), item.get("fieldType")) for item in items if isinstance(item, dict))
    return {name: kind for name, kind in pairs if isinstance(name, str) and isinstance(kind, str)}


def _parts(key: str) -> tuple[str, str]:
    kind, name = custom_key_parts(key) or ("string", key)
    return kind, name.replace("--", " ")
