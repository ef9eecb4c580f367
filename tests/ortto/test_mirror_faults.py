"""Ortto mirror removals under faults, a kill and a refusal: only leavers lose their tag, a killed run is
finished by the next complete one, and a refused removal is written down instead of lost."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.faults.test_faults import start_target
from tests.ortto.conftest import merges, ortto_config
from tests.target.support import RunTarget, record, schema, state

MERGE = "POST /v1/person/merge"


def segment(count: int, step: int = 1) -> list[dict[str, Any]]:
    return [
        schema("vip", ["email", "first_name"]),
        *[record("vip", email=f"p{i}@example.com", first_name=f"P{i}") for i in range(0, count, step)],
        state({"run": "mirror"}),
    ]


def holders(sandbox: Sandbox) -> list[str]:
    return sorted(sandbox.tags().get("vip", []))


def expected(count: int, step: int = 1) -> list[str]:
    return sorted(f"p{i}@example.com" for i in range(0, count, step))


def mirror(sandbox: Sandbox, **settings: Any) -> dict[str, Any]:
    return ortto_config(sandbox, sync_mode="mirror", complete_streams="sent", **settings)


def populate(sandbox: Sandbox, run_target: RunTarget, count: int) -> None:
    assert run_target(ortto_config(sandbox), segment(count)).code == 0
    sandbox.reset_stats()


@pytest.mark.parametrize(
    "faults",
    [
        {"fault_kinds": ["500", "502", "503", "drop", "429"], "fault_after_apply": 0.5},
        {"fault_kinds": ["500", "503", "drop"], "fault_after_apply": 1.0},
    ],
    ids=["mixed", "after-apply"],
)
def test_faults_during_removals_unset_exactly_the_leavers_tags(
    faults: dict[str, Any], sandbox: Sandbox, run_target: RunTarget
) -> None:
    populate(sandbox, run_target, 1200)  # three holder pages of 500
    sandbox.configure(fault_rate=0.3, seed=2, **faults)

    run = run_target(mirror(sandbox), segment(1200, step=2))  # half of them leave

    assert run.code == 0, run.stderr
    assert holders(sandbox) == expected(1200, step=2)
    assert len(sandbox.people()) == 1200  # the tag is unset, nobody is deleted
    stats = sandbox.stats()
    assert stats["faults"]["total"] > 0
    assert run.report["segments"]["vip"]["removed"] == 600
    assert run.rejected == []
    assert run.report["requests"]["retries"] == stats["faults"]["total"] + stats["rate_limited"]
    assert run.states == [{"run": "mirror"}]


def test_a_run_killed_during_removals_is_finished_by_the_next_complete_one(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    populate(sandbox, run_target, 800)

    process = start_target(mirror(sandbox, requests_per_second=1), segment(800, step=2), tmp_path)
    deadline = time.monotonic() + 60
    while len(holders(sandbox)) == 800:
        assert time.monotonic() < deadline, "the target did not start removing"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    stdout, _ = process.communicate(timeout=30)
    assert stdout == ""  # no STATE: the tap sends the segment again
    left_over = holders(sandbox)
    assert len(expected(800, step=2)) < len(left_over) < 800, "the kill did not land during the removals"

    incremental = run_target(ortto_config(sandbox, sync_mode="mirror"), segment(800, step=2))
    assert incremental.code == 0, incremental.stderr
    assert holders(sandbox) == left_over  # not complete: nobody is removed on an older read
    rerun = run_target(mirror(sandbox), segment(800, step=2))

    assert rerun.code == 0, rerun.stderr
    assert holders(sandbox) == expected(800, step=2)
    assert rerun.report["segments"]["vip"]["removed"] == len(left_over) - 400
    assert rerun.states == [{"run": "mirror"}]


def test_a_refused_removal_is_in_the_rejected_file_and_tried_again(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    populate(sandbox, run_target, 10)
    sandbox.configure(refuse=[MERGE])  # this run's only merges are removals

    run = run_target(mirror(sandbox), segment(10, step=2))

    assert run.code == 0, run.stderr  # five refused removals are no reason to send five records again
    assert holders(sandbox) == expected(10)
    refused = sorted(line["record"]["email"] for line in run.rejected if line["reason"] == "removal_rejected")
    assert refused == [f"p{i}@example.com" for i in range(1, 10, 2)]
    assert merges(sandbox.stats()) == {"403": 1}  # one removal merge, refused whole, not split
    assert run.report["segments"]["vip"]["removed"] == 0

    sandbox.configure(refuse=[])
    again = run_target(mirror(sandbox), segment(10, step=2))

    assert again.code == 0, again.stderr
    assert holders(sandbox) == expected(10, step=2)
