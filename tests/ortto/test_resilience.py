"""Ortto under faults, throttling, bad requests, kills and signals: nothing lost, no ban, no STATE that lies,
and the key in no output."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.faults.test_faults import SEGMENTS, expected_lists, profiles, start_target
from tests.ortto.conftest import merges, ortto_config, select_field
from tests.target.support import RunTarget, record, schema

FAULTS = {
    "fault_rate": 0.2,
    "fault_kinds": ["500", "502", "503", "drop", "429"],
    "fault_after_apply": 0.5,
    "latency_ms": 2.0,
    "seed": 7,
}


def people(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Stored people by email: their fields and tags (ids and timestamps left out)."""
    return {
        person["fields"]["str::email"]: {"fields": person["fields"], "tags": sorted(person["tags"])}
        for person in sandbox.people()
    }


def tags(sandbox: Sandbox) -> dict[str, list[str]]:
    return {tag: holders for tag, holders in sandbox.tags().items() if tag in SEGMENTS}


@pytest.mark.parametrize("sandbox", [FAULTS], indirect=True, ids=["faults"])
def test_faults_half_after_apply_lose_nothing(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(ortto_config(sandbox), profiles(900))

    assert run.code == 0, run.stderr
    assert tags(sandbox) == expected_lists(900)
    assert len(sandbox.people()) == 900
    stats = sandbox.stats()
    assert stats["faults"]["total"] > 0
    assert run.report["requests"]["retries"] == stats["faults"]["total"] + stats["rate_limited"]
    assert run.states == [{"offset": 900}]


@pytest.mark.parametrize("sandbox", [{"ortto_rate_limit": 4}], indirect=True, ids=["4 per second"])
def test_a_429_is_waited_out_and_lowers_the_pace_for_the_rest_of_the_run(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    run = run_target(ortto_config(sandbox, requests_per_second=20), profiles(600))

    assert run.code == 0, run.stderr
    assert tags(sandbox) == expected_lists(600)
    assert run.report["requests"]["throttled_429"] > 0
    suggested = run.report["suggested_requests_per_second"]
    assert suggested < 20
    assert f"set requests_per_second: {suggested:g}" in run.stderr


@pytest.mark.parametrize(
    "sandbox",
    [{"ortto_mixed_batch": "reject", "ortto_people_order": "shuffled"}],
    indirect=True,
    ids=["reject,shuffled"],
)
def test_isolating_many_bad_people_never_earns_the_ban(sandbox: Sandbox, run_target: RunTarget) -> None:
    select_field(sandbox, "Plan", ["gold"])
    messages: list[dict[str, Any]] = [schema("vip", ["email", "plan"])]
    for i in range(100):
        plan = "tin" if i % 4 == 0 else "gold"  # not one of the field's values: the API says invalid
        messages.append(record("vip", email=f"p{i}@example.com", plan=plan))

    run = run_target(
        ortto_config(sandbox, field_mapping={"string--Plan": "plan"}, max_rejected_fraction=1), messages
    )

    assert run.code == 0, run.stderr
    assert sorted(line["record"]["email"] for line in run.rejected) == sorted(
        f"p{i}@example.com" for i in range(0, 100, 4)
    )
    assert len(sandbox.tags()["vip"]) == 75
    # The batch and its resend are refused (the order did not hold), then each person is sent alone:
    # 27 bad requests, more than the 15 in 15 s that earn the ban, so the budget has to wait
    answered = merges(sandbox.stats())
    assert answered == {"400": 2 + 25, "200": 75}
    assert "429" not in sandbox.stats()["by_status"]


def wait_for_merges(sandbox: Sandbox, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not merges(sandbox.stats()):
        assert time.monotonic() < deadline, "the target did not get going"
        time.sleep(0.01)


@pytest.mark.parametrize("sandbox", [{"latency_ms": 20.0}], indirect=True, ids=["slow"])
def test_a_killed_run_rerun_ends_as_an_uninterrupted_one(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    messages = profiles(900)
    config = ortto_config(sandbox, requests_per_second=3)

    process = start_target(config, messages, tmp_path)
    wait_for_merges(sandbox)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert 0 < len(sandbox.people()) < 900, "the kill came too early or too late to test anything"

    rerun = run_target(ortto_config(sandbox), messages)

    assert rerun.code == 0, rerun.stderr
    assert tags(sandbox) == expected_lists(900)
    assert len(sandbox.people()) == 900
    assert people(sandbox)["person42@example.com"]["fields"]["str::first"] == "Name42"
    assert rerun.states == [{"offset": 900}]


@pytest.mark.parametrize("sandbox", [{"latency_ms": 20.0}], indirect=True, ids=["slow"])
def test_sigterm_while_merging_stops_without_state(sandbox: Sandbox, tmp_path: Path) -> None:
    config = ortto_config(sandbox, requests_per_second=3, report_path=str(tmp_path / "report.json"))

    process = start_target(config, profiles(900), tmp_path)
    wait_for_merges(sandbox)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 143
    assert stdout == ""
    assert "No STATE was written" in stderr
    assert "Traceback" not in stderr
    assert 0 < len(sandbox.people()) < 900


def test_the_key_is_in_no_output(sandbox: Sandbox, run_target: RunTarget) -> None:
    good = run_target(ortto_config(sandbox), profiles(30))
    bad = run_target(ortto_config(sandbox, api_key="wrong-ortto-key-0123456789"), profiles(30))

    assert good.code == 0, good.stderr
    assert bad.code != 0
    assert "refused the API key" in bad.stderr
    for run, key in ((good, sandbox.api_key), (bad, "wrong-ortto-key-0123456789")):
        texts = [run.stdout, run.stderr, run.report_path.read_text()]
        if run.rejected_path.exists():
            texts.append(run.rejected_path.read_text())
        assert not any(key in text for text in texts)
