"""Setting values as Meltano passes them: numbers as text, because Meltano declares them `kind: string`.

Meltano 4.4 cannot write a `kind: decimal` setting given by environment variable into the target's config
("Object of type Decimal is not JSON serializable"), so `meltano.yml` and the Hub file declare the
number settings as strings, and the target reads a number written as text as that number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def numbers_from_text(config: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with each number setting given as text ("0.5", "1") turned into that number."""
    converted = dict(config)
    for name, prop in schema.get("properties", {}).items():
        value = config.get(name)
        if isinstance(value, str) and _types(prop) & {"number", "integer"}:
            number = _number(value)
            if number is not None:
                converted[name] = number
    return converted


def _types(prop: Mapping[str, Any]) -> set[str]:
    declared = prop.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
