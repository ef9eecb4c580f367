"""Requests to a slow API overlap, but never more at once than `requests_per_second` allows."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, requests_to, schema, target_config

PEOPLE = 16


@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off", "latency_ms": 1000.0}], indirect=True)
def test_per_contact_requests_overlap_up_to_the_workers_requests_per_second_allows(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(sandbox, list_assignment="per_contact", requests_per_second=8)  # 4 at once
    messages = [schema("vip", ["email"]), *(record("vip", email=f"p{i}@example.com") for i in range(PEOPLE))]

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    stats = sandbox.stats()
    assert requests_to(stats, "POST /v1/contact") == PEOPLE
    assert stats["max_requests_at_once"] == 4  # one at a time would be 1, Python's own pool size 6 or more
