"""Requests to a slow API overlap: per-contact work keeps several requests in flight, not one at a time."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, requests_to, schema, target_config

PEOPLE = 40


@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off", "latency_ms": 200.0}], indirect=True)
def test_per_contact_requests_overlap_when_the_api_is_slow(sandbox: Sandbox, run_target: RunTarget) -> None:
    config = target_config(sandbox, list_assignment="per_contact")
    messages = [schema("vip", ["email"]), *(record("vip", email=f"p{i}@example.com") for i in range(PEOPLE))]

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    stats = sandbox.stats()
    assert requests_to(stats, "POST /v1/contact") == PEOPLE
    assert stats["max_requests_at_once"] >= 4  # one at a time would be 1, whatever the machine's load
