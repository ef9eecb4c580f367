"""Ortto's ban (15 bad requests in 15 s) is never earned by runs back to back: each run starts from the bad
answers the runs before it got in the last 16 s, recorded in the user's cache directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config
from tests.target.support import RunTarget, record, schema


def people(count: int) -> list[dict[str, Any]]:
    return [schema("vip", ["email"]), *[record("vip", email=f"p{i}@example.com") for i in range(count)]]


@pytest.mark.parametrize("sandbox", [{"refuse": ["POST /v1/person/merge"]}], indirect=True, ids=["refused"])
def test_runs_back_to_back_share_one_bad_request_budget(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    runs = [run_target(ortto_config(sandbox), people(300)) for _ in range(6)]  # 3 refused merges each

    refused = merges(sandbox.stats()).get("403", 0)
    assert refused >= 15, "the runs did not get enough bad answers between them to test the budget"
    assert all(run.code != 0 for run in runs)
    assert "429" not in sandbox.stats()["by_status"]  # never banned
    [ledger_file] = (tmp_path / ".cache" / "target-autopilot").glob("bad-answers-127.0.0.1_*.json")
    assert ledger_file.stat().st_mode & 0o777 == 0o600
    ledger = json.loads(ledger_file.read_text())
    assert 0 < len(ledger) <= 14
