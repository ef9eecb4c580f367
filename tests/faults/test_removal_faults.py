"""Removals under faults and crashes: retried safely, and a killed run is finished by the next one."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.conftest import SandboxFactory
from tests.faults.test_faults import contacts, start_target
from tests.target.support import (
    RunTarget,
    activate_version,
    record,
    requests_to,
    schema,
    state,
    target_config,
)

DELETE_MEMBER = "DELETE /v1/list/{list_id}/contact/{contact}"
MEMBERS = 250  # three member pages of 100: paged reads under faults too
MEMBER_PAGES = ("GET /v1/list/{list_id}/contacts", "GET /v1/list/{list_id}/contacts/{bookmark}")
STAYING = range(0, MEMBERS, 2)  # half of them leave: exactly what max_removal_fraction 0.5 allows


def segment(numbers: range, *, complete: bool = True) -> list[dict[str, Any]]:
    return [
        schema("vip", ["email", "first_name"]),
        *([activate_version("vip")] if complete else []),
        *[record("vip", email=f"p{i}@example.com", first_name=f"P{i}") for i in numbers],
        state({"run": "mirror"}),
    ]


def populate(sandbox: Sandbox, run_target: RunTarget) -> None:
    assert run_target(target_config(sandbox), segment(range(MEMBERS))).code == 0
    sandbox.reset_stats()


def staying() -> list[str]:
    return sorted(f"p{i}@example.com" for i in STAYING)


@pytest.mark.parametrize(
    "faults",
    [
        {"fault_kinds": ["500", "502", "503", "drop", "429"], "fault_after_apply": 0.5},
        # Every fault after the change was applied: each failed DELETE had removed its member, and its
        # retry finds the member gone (`not_modified`), which must count as done.
        {"fault_kinds": ["500", "503", "drop"], "fault_after_apply": 1.0},
    ],
    ids=["mixed", "after-apply"],
)
def test_faults_during_removals_lose_nothing_and_remove_only_leavers(
    faults: dict[str, Any], sandbox_factory: SandboxFactory, run_target: RunTarget
) -> None:
    sandbox = sandbox_factory(latency_ms=2, seed=11)
    populate(sandbox, run_target)
    sandbox.configure(fault_rate=0.2, seed=2, **faults)  # seed 2: the first member page read fails

    run = run_target(target_config(sandbox, sync_mode="mirror"), segment(STAYING))

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"vip": staying()}
    assert len(contacts(sandbox)) == MEMBERS  # removed from the list, never deleted
    stats = sandbox.stats()
    delete_answers = stats["by_endpoint"][DELETE_MEMBER]
    assert sum(delete_answers.values()) > MEMBERS - len(STAYING)  # some were refused and retried
    page_answers = [stats["by_endpoint"].get(page, {}) for page in MEMBER_PAGES]
    assert sum(n for answers in page_answers for status, n in answers.items() if status != "200") > 0, (
        "no member page read met a fault: the paged read was not tested under faults"
    )
    assert run.report["segments"]["vip"]["removed"] == MEMBERS - len(STAYING)
    assert run.rejected == []
    assert run.report["requests"]["retries"] == stats["faults"]["total"] + stats["rate_limited"]
    assert run.states == [{"run": "mirror"}]


def test_a_run_killed_during_removals_is_finished_by_the_next_complete_one(
    sandbox_factory: SandboxFactory, run_target: RunTarget, tmp_path: Path
) -> None:
    reference = sandbox_factory()
    populate(reference, run_target)
    assert run_target(target_config(reference, sync_mode="mirror"), segment(STAYING)).code == 0
    sandbox = sandbox_factory(latency_ms=20)
    populate(sandbox, run_target)
    config = target_config(sandbox, sync_mode="mirror", requests_per_second=20)

    process = start_target(config, segment(STAYING), tmp_path)
    deadline = time.monotonic() + 30
    while requests_to(sandbox.stats(), DELETE_MEMBER) < 3:
        assert time.monotonic() < deadline, "the target did not start removing"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    stdout, _ = process.communicate(timeout=30)
    assert stdout == ""  # no STATE: the tap sends the segment again
    left_over = sandbox.lists()["vip"]
    assert len(staying()) < len(left_over) < MEMBERS, "the kill did not land during the removals"

    config["requests_per_second"] = 500
    incremental = run_target(config, segment(STAYING, complete=False))
    assert incremental.code == 0, incremental.stderr
    assert sandbox.lists()["vip"] == left_over  # not complete: nobody is removed on an older read
    rerun = run_target(config, segment(STAYING))

    assert rerun.code == 0, rerun.stderr
    assert sandbox.lists() == reference.lists()
    assert contacts(sandbox) == contacts(reference)
    assert rerun.report["segments"]["vip"]["removed"] == len(left_over) - len(STAYING)
    assert rerun.states == [{"run": "mirror"}]
