"""Merges to a slow Ortto overlap, but never more at once than `requests_per_second` allows."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config
from tests.target.support import RunTarget, record, schema


@pytest.mark.parametrize("sandbox", [{"latency_ms": 1000.0}], indirect=True)
def test_merges_overlap_up_to_the_workers_requests_per_second_allows(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    messages = [schema("vip", ["email"]), *(record("vip", email=f"p{i}@example.com") for i in range(600))]

    run = run_target(ortto_config(sandbox, requests_per_second=8), messages)  # 4 at once

    assert run.code == 0, run.stderr
    stats = sandbox.stats()
    assert merges(stats) == {"200": 6}
    assert stats["max_requests_at_once"] == 4
