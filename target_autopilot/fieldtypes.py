"""Custom field types checked before the first write: against each other and against the account's fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from target_autopilot.errors import ExportError
from target_autopilot.settings import custom_key_parts


class FieldTypeConflict(ExportError):
    """A custom field mapped with a type Autopilot cannot store in it."""


@dataclass(frozen=True)
class MappedField:
    """One field as a stream's mapping sends it (custom ones as `type--Name`), its source, and the stream."""

    key: str
    source: str
    stream: str

    @property
    def is_custom(self) -> bool:
        return "--" in self.key

    @property
    def name(self) -> str:
        return _parts(self.key)[1]

    @property
    def type(self) -> str:
        return _parts(self.key)[0]

    def describe(self) -> str:
        return f"{self.key!r} ← property {self.source!r} of stream {self.stream!r}"


def check(fields: Iterable[MappedField], read_account: Callable[[], Mapping[str, str]]) -> None:
    """Raise FieldTypeConflict, before anything is written, for a field with two types or a type the
    account's field does not have. `read_account` reads the account's fields (display name → type,
    in Classic's type names) through the API at hand; it is called only when a custom field is mapped."""
    by_name: dict[str, list[MappedField]] = {}
    for field in fields:
        by_name.setdefault(field.name, []).append(field)
    if not by_name:
        return
    problems = [_mixed(name, mapped) for name, mapped in sorted(by_name.items())]
    account = read_account()
    for name, mapped in sorted(by_name.items()):
        stored = account.get(name)
        for item in {m.type: m for m in mapped}.values():
            if stored is not None and item.type != stored:
                problems.append(
                    f"The custom field {name!r} is {_a(stored)} field in Autopilot, but field_mapping sends "
                    f"it {_a(item.type)} value ({item.describe()}). Map it as "
                    f"'{stored}--{name.replace(' ', '--')}' to write the existing field, or give the "
                    "value another field name."
                )
    found = [problem for problem in problems if problem]
    if found:
        raise FieldTypeConflict(" ".join(found) + " Nothing was written to Autopilot.")


def _a(word: str) -> str:
    """'an integer', 'a date'."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _mixed(name: str, mapped: list[MappedField]) -> str:
    types = sorted({m.type for m in mapped})
    if len(types) < 2:
        return ""
    sources = "; ".join(sorted({m.describe() for m in mapped}))
    return (
        f"The custom field {name!r} is mapped with {len(types)} types ({', '.join(types)}): {sources}. "
        "A field has one type: map it once, or write every key with the same type."
    )


def _parts(key: str) -> tuple[str, str]:
    kind, name = custom_key_parts(key) or ("string", key)
    return kind, name.replace("--", " ")
