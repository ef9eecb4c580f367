"""Ortto target tests: one sandbox per module, emptied and set to the given switches before each test.

@pytest.mark.parametrize("sandbox", [{"ortto_mixed_batch": "reject"}], indirect=True)
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from target_autopilot.sandbox import Sandbox, SandboxControl

DEFAULTS = {
    "rate_limit": 0,
    "ortto_rate_limit": 0,
    "fault_rate": 0.0,
    "fault_after_apply": 0.0,
    "latency_ms": 0.0,
    "ortto_ban": "on",
    "ortto_mixed_batch": "per-person",
    "ortto_people_order": "request",
    "ortto_tag_filter": "u4s-is",
    "ortto_async": "queued",
    "ortto_default_async": "sync",
    "ortto_default_merge_by": "str::email",
    "ortto_field_limit": 100,
    "seed": None,
}


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset()
    shared_sandbox.configure(**{**DEFAULTS, **getattr(request, "param", {})})
    return shared_sandbox


def ortto_config(sandbox: SandboxControl, **settings: Any) -> dict[str, Any]:
    """Settings pointing the target at the sandbox's Ortto surface, fast unless told otherwise."""
    return {
        "api": "ortto",
        "api_key": sandbox.api_key,
        "api_url": sandbox.base_url,
        "requests_per_second": 500,
        **settings,
    }


def custom_fields(sandbox: SandboxControl) -> dict[str, str]:
    """The account's custom person fields: field id → display type."""
    for account in sandbox.dump()["accounts"]:
        if account["account_id"] == sandbox.account_id:
            return {item["field_id"]: item["display_type"] for item in account["ortto"]["custom_fields"]}
    return {}


def merges(stats: dict[str, Any]) -> dict[str, int]:
    """person/merge answers by status."""
    return dict(stats["by_endpoint"].get("POST /v1/person/merge", {}))


def select_field(sandbox: SandboxControl, name: str, values: list[str]) -> None:
    """An existing single-select field: Ortto refuses other values, which the target cannot know."""
    answer = requests.post(
        f"{sandbox.base_url}/person/custom-field/create",
        headers={"X-Api-Key": sandbox.api_key},
        json={"type": "single_select", "name": name, "values": values},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
