"""Config keys the target does not know: each is a mistake, reported with the closest known setting."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

LOAD_METHODS = ("append-only", "upsert")


def unknown_key_problems(config: Mapping[str, Any], known: Iterable[str]) -> list[str]:
    """One sentence per config key that is not a setting, naming the closest one when there is one."""
    settings = sorted(known)
    found = []
    for key in sorted(set(config) - set(settings)):
        close = difflib.get_close_matches(key, settings, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        found.append(
            f"{key!r} is not a setting of target-autopilot.{hint} Nothing was sent: correct or "
            "remove it (`target-autopilot --about` lists every setting)."
        )
    return found


def load_method_problems(config: Mapping[str, Any]) -> list[str]:
    """The SDK's `load_method` means something here only as `append-only` or `upsert` (both upsert)."""
    method = config.get("load_method")
    if method is None or method in LOAD_METHODS:
        return []
    return [
        f"load_method {method!r} is not supported: target-autopilot only adds and updates "
        "(`append-only` and `upsert` both upsert contacts by email and add memberships). "
        "Removing list members who left a segment is the job of `sync_mode: mirror`, not of load_method."
    ]
