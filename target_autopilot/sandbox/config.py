"""The sandbox's settings: one frozen dataclass shared by the CLI, the Python API and the control API."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from target_autopilot.sandbox.exposure import DEFAULT_API_KEY, check_exposure

FAULT_KINDS = ("500", "502", "503", "drop", "429")
DEFAULT_FAULT_KINDS = ("500", "502", "503", "drop")
SWITCH_CHOICES: dict[str, tuple[str, ...]] = {
    "bulk_list_assignment": ("on", "off"),
    "duplicate_list_names": ("conflict", "allow"),
    "custom_fields": ("auto-create", "must-exist"),
    "bulk_partial_failure": ("reject-batch", "skip-item"),
    "bulk_contact_map": ("on", "off"),
    "ortto_ban": ("on", "off"),
    "ortto_mixed_batch": ("per-person", "reject", "reject-unaligned"),
    "ortto_people_order": ("request", "shuffled"),
    "ortto_tag_filter": ("u4s-is", "set-contains", "tag-id", "none", "ignored"),
    "ortto_async": ("queued", "applied"),
    "ortto_default_async": ("sync", "async"),
    "ortto_default_merge_by": ("str::email", "str::ei"),
}
# Fixed when the server starts: changing them would mean a new server.
STARTUP_ONLY = frozenset({"host", "port", "api_keys", "ortto_api_keys", "db", "control_token"})


@dataclass(frozen=True)
class SandboxConfig:
    """Every sandbox setting. Field names match the CLI options (`rate_limit` is `--rate-limit`)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port; the CLI's default is 8787
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    db: str | None = None
    rate_limit: int = 5
    retry_after: bool = False
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    spike_rate: float = 0.0
    spike_ms: float = 1000.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    fault_after_apply: float = 0.0
    seed: int | None = None
    bulk_list_assignment: Literal["on", "off"] = "on"
    duplicate_list_names: Literal["conflict", "allow"] = "conflict"
    custom_fields: Literal["auto-create", "must-exist"] = "auto-create"
    bulk_partial_failure: Literal["reject-batch", "skip-item"] = "reject-batch"
    bulk_contact_map: Literal["on", "off"] = "on"
    # Ortto (today's Autopilot): its own keys (None: the same as api_keys; one account per key,
    # whichever API it is given to), its own per-key limit, and a switch per OPEN point.
    ortto_api_keys: tuple[str, ...] | None = None
    ortto_rate_limit: int = 10
    ortto_ban: Literal["on", "off"] = "on"
    ortto_mixed_batch: Literal["per-person", "reject", "reject-unaligned"] = "per-person"
    ortto_people_order: Literal["request", "shuffled"] = "request"
    ortto_tag_filter: Literal["u4s-is", "set-contains", "tag-id", "none", "ignored"] = "u4s-is"
    ortto_async: Literal["queued", "applied"] = "queued"
    ortto_async_delay_ms: float = 200.0
    # What a merge that omits `async` or `merge_by` gets: the key's data-source defaults, set in the UI.
    ortto_default_async: Literal["sync", "async"] = "sync"
    ortto_default_merge_by: Literal["str::email", "str::ei"] = "str::email"
    ortto_field_limit: int = 100
    refuse: tuple[str, ...] = ()  # endpoints ("DELETE /v1/list/{list_id}/contact/{contact}") answered 403
    run_gap_seconds: float = 5.0  # an account's pause longer than this ends a run (the pages' runs)
    # Requests to /_sandbox/ must carry it (header or login cookie); needed to listen beyond loopback.
    control_token: str | None = None

    def __post_init__(self) -> None:
        check(self)

    @property
    def ortto_keys(self) -> tuple[str, ...]:
        """The keys the Ortto API accepts."""
        return self.api_keys if self.ortto_api_keys is None else self.ortto_api_keys

    def to_json(self) -> dict[str, object]:
        """The settings as a JSON-ready dict (API keys and the control token omitted: secrets)."""
        data = dataclasses.asdict(self)
        del data["api_keys"], data["ortto_api_keys"], data["control_token"]
        data["control_protected"] = self.control_token is not None
        data["fault_kinds"] = list(self.fault_kinds)
        data["refuse"] = list(self.refuse)
        data["accounts"] = len(self.api_keys)
        data["ortto_accounts"] = len(self.ortto_keys)
        return data


def check(config: SandboxConfig) -> None:
    """Raise ValueError naming the first setting that is out of range."""
    keys = config.api_keys + config.ortto_keys
    if not keys or any(not key for key in keys):
        raise ValueError("api_keys: at least one non-empty API key is needed")
    check_exposure(config.host, config.control_token, keys)
    for name in ("rate_limit", "ortto_rate_limit"):
        if getattr(config, name) < 0:
            raise ValueError(f"{name}: must be 0 (off) or more")
    if config.ortto_field_limit < 1:
        raise ValueError("ortto_field_limit: must be 1 or more")
    for name in ("latency_ms", "latency_jitter_ms", "spike_ms", "ortto_async_delay_ms", "run_gap_seconds"):
        if getattr(config, name) < 0:
            raise ValueError(f"{name}: must be 0 or more")
    for name in ("spike_rate", "fault_rate", "fault_after_apply"):
        if not 0 <= getattr(config, name) <= 1:
            raise ValueError(f"{name}: must be a fraction between 0 and 1")
    unknown = [kind for kind in config.fault_kinds if kind not in FAULT_KINDS]
    if unknown or not config.fault_kinds:
        raise ValueError(f"fault_kinds: choose one or more of {', '.join(FAULT_KINDS)}")
    for name, choices in SWITCH_CHOICES.items():
        if getattr(config, name) not in choices:
            raise ValueError(f"{name}: must be one of {', '.join(choices)}")


def parse_fault_kinds(value: str) -> tuple[str, ...]:
    """Split the CLI's comma list ("500,drop") into a tuple."""
    return tuple(kind.strip() for kind in value.split(",") if kind.strip())


def with_changes(config: SandboxConfig, changes: Mapping[str, object]) -> SandboxConfig:
    """Apply run-time changes sent as JSON; raise ValueError on unknown or fixed settings."""
    fields = {field.name: field for field in dataclasses.fields(SandboxConfig)}
    coerced: dict[str, object] = {}
    for name, value in changes.items():
        if name not in fields:
            raise ValueError(f"unknown setting '{name}'")
        if name in STARTUP_ONLY:
            raise ValueError(f"'{name}' is fixed when the sandbox starts")
        coerced[name] = _coerce(name, value, getattr(config, name))
    # The values' types were checked above, and check() runs again on the new config.
    return dataclasses.replace(config, **cast("dict[str, Any]", coerced))


def _coerce(name: str, value: object, current: object) -> object:
    if name == "fault_kinds":
        if isinstance(value, str):
            return parse_fault_kinds(value)
        if isinstance(value, list) and all(isinstance(kind, str) for kind in value):
            return tuple(value)
        raise ValueError("fault_kinds: a list or a comma-separated string")
    if name == "refuse":
        if isinstance(value, list) and all(isinstance(endpoint, str) for endpoint in value):
            return tuple(value)
        raise ValueError('refuse: a list of endpoints such as "DELETE /v1/list/{list_id}/contact/{contact}"')
    if name == "seed":
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ValueError("seed: an integer or null")
    return _coerce_scalar(name, value, current)


def _coerce_scalar(name: str, value: object, current: object) -> object:
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise ValueError(f"{name}: true or false")
    if isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{name}: an integer")
    if isinstance(current, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"{name}: a number")
    if isinstance(value, str):
        return value
    raise ValueError(f"{name}: a string")


def account_id_for(api_key: str) -> str:
    """A stable, non-secret name for the account behind an API key (also its `instanceId`)."""
    return "acct_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
