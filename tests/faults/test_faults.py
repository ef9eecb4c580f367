"""Faults, outages, kills: every valid profile ends up in Autopilot, reruns converge, no STATE lies."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.conftest import SandboxFactory
from tests.target.support import (
    RunTarget,
    record,
    requests_to,
    schema,
    start_cli,
    state,
    target_config,
)

SEGMENTS = ("high_value", "churn_risk", "new_signups")


def profiles(count: int) -> list[dict[str, Any]]:
    """`count` people over three segments, a third of them in two segments."""
    messages: list[dict[str, Any]] = [schema(stream, ["email", "first_name", "city"]) for stream in SEGMENTS]
    for i in range(count):
        person = {"email": f"person{i}@example.com", "first_name": f"Name{i}", "city": f"City{i % 7}"}
        messages.append(record(SEGMENTS[i % 3], **person))
        if i % 3 == 0:
            messages.append(record(SEGMENTS[(i + 1) % 3], **{**person, "email": person["email"].upper()}))
    messages.append(state({"offset": count}))
    return messages


def expected_lists(count: int) -> dict[str, list[str]]:
    members: dict[str, set[str]] = {stream: set() for stream in SEGMENTS}
    for i in range(count):
        members[SEGMENTS[i % 3]].add(f"person{i}@example.com")
        if i % 3 == 0:
            members[SEGMENTS[(i + 1) % 3]].add(f"person{i}@example.com")
    return {stream: sorted(emails) for stream, emails in members.items()}


def contacts(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Stored contacts by email, without ids and timestamps (which differ between sandboxes)."""
    [account] = sandbox.dump()["accounts"]
    volatile = {"contact_id", "created_at", "updated_at", "lists"}
    return {c["Email"]: {k: v for k, v in c.items() if k not in volatile} for c in account["contacts"]}


@pytest.mark.parametrize("bulk", ["on", "off"])
def test_faults_lose_nothing_and_retries_match_the_server(
    bulk: str, sandbox_factory: SandboxFactory, run_target: RunTarget
) -> None:
    sandbox = sandbox_factory(
        bulk_list_assignment=bulk,
        duplicate_list_names="allow",  # a retried list creation would show as a second list
        fault_rate=0.2,
        fault_kinds=("500", "502", "503", "drop", "429"),
        fault_after_apply=0.5,
        spike_rate=0.05,
        spike_ms=300,
        latency_ms=2,
        seed=7,
    )
    reference = sandbox_factory(bulk_list_assignment=bulk)
    assert run_target(target_config(reference), profiles(90)).code == 0

    run = run_target(target_config(sandbox), profiles(90))

    assert run.code == 0, run.stderr
    assert sorted(sandbox.list_titles()) == sorted(SEGMENTS)  # no duplicate list
    assert sandbox.lists() == expected_lists(90)
    assert len(contacts(sandbox)) == 90
    assert contacts(sandbox) == contacts(reference)  # every field of every contact, as without faults
    stats = sandbox.stats()
    faults = stats["faults"]["total"]
    assert faults > 5
    assert run.report["requests"]["retries"] == faults + stats["rate_limited"]
    assert run.report["requests"]["sent"] == stats["requests_total"]
    assert run.states == [{"offset": 90}]


@pytest.mark.parametrize("outage", ["server down", "every request fails"])
def test_an_outage_stops_with_a_clear_message_and_a_rerun_completes(
    outage: str, sandbox_factory: SandboxFactory, run_target: RunTarget
) -> None:
    sandbox = sandbox_factory(port=free_port())  # the same port after a restart
    config = target_config(sandbox, retry_seconds=3)
    if outage == "server down":
        sandbox.stop()
    else:
        sandbox.configure(fault_rate=1.0, fault_kinds=["503"])

    failed = run_target(config, profiles(30))

    assert failed.code != 0
    port = config["api_url"].split(":")[2].split("/")[0]
    if outage == "server down":  # nothing has ever answered: most likely a wrong api_url
        assert f"Nothing answers at 127.0.0.1 port {port}" in failed.stderr
        assert "Check api_url" in failed.stderr
        why, retried = "ConnectionError: [Errno 111] Connection refused", "nothing has answered yet, retrying"
    else:
        assert "Autopilot did not accept GET /account" in failed.stderr
        assert "run it again" in failed.stderr
        why, retried = "HTTP 503", "retrying it for up to 3 s (retry_seconds)"
    assert "Traceback" not in failed.stderr
    assert failed.states == []
    assert failed.report["requests"]["sent"] == failed.report["requests"]["retries"] + 1
    # Said at once, not after the 3 s of retrying; then not once per failure.
    assert failed.stderr.count(f"GET /account failed ({why}): {retried}") == 1, failed.stderr
    assert "Still retrying" not in failed.stderr
    answered = 0 if outage == "server down" else failed.report["requests"]["sent"]
    assert failed.report["requests"]["answered"] == answered
    assert f"{answered} requests answered" in failed.stderr
    if outage == "server down":
        sandbox.start()
    else:
        sandbox.configure(fault_rate=0.0)

    rerun = run_target(config, profiles(30))

    assert rerun.code == 0, rerun.stderr
    assert sandbox.lists() == expected_lists(30)
    assert rerun.states == [{"offset": 30}]


def test_a_long_outage_is_reported_at_most_every_ten_seconds(sandbox: Sandbox, run_target: RunTarget) -> None:
    sandbox.configure(fault_rate=1.0, fault_kinds=["503"])

    run = run_target(target_config(sandbox, retry_seconds=14), profiles(3))

    assert run.code != 0
    notices = [
        line for line in run.stderr.splitlines() if "retrying it for" in line or "Still retrying:" in line
    ]
    # Backoff (at most 0.5, 1, 2, 4, 8 s between tries) fails at least 5 times in 14 s; the log says
    # so once at once, then at most once more.
    assert "GET /account failed (HTTP 503)" in notices[0]
    assert len(notices) <= 2
    assert run.report["requests"]["server_errors"] >= 5


@pytest.mark.parametrize(
    ("url", "named", "why"),
    [
        ("http://127.0.0.1:{port}/v1", "127.0.0.1 port {port}", "Connection refused"),
        ("https://no-such-host.invalid/v1", "no-such-host.invalid port 443", "ConnectionError"),
    ],
    ids=["refused", "unknown host"],
)
def test_an_api_that_never_answers_fails_within_seconds_naming_host_and_port(
    url: str, named: str, why: str, run_target: RunTarget
) -> None:
    port = free_port()
    config = {"api_key": "k", "api_url": url.format(port=port), "retry_seconds": 600}

    # Retrying for retry_seconds (10 minutes) would outlast the deadline and fail the test.
    run = run_target(config, profiles(3), timeout=90)

    assert run.code != 0
    [message] = [line for line in run.stderr.splitlines() if "Nothing answers at" in line]
    assert f"Nothing answers at {named.format(port=port)} (" in message
    assert why in message
    assert "no STATE was written" in message
    assert run.states == []
    assert "Traceback" not in run.stderr
    assert f"Sending to {named.format(port=port).replace(' port ', ':')} (api: classic" in run.stderr


def test_retry_seconds_still_governs_an_api_that_has_answered(sandbox: Sandbox, tmp_path: Path) -> None:
    """The API answered, then went away: retried for retry_seconds (9 s, more than the quick give-up)."""
    sandbox.configure(latency_ms=20)
    process = start_target(
        {
            **target_config(sandbox, retry_seconds=9),
            "requests_per_second": 20,
            "list_assignment": "per_contact",
        },
        profiles(200),
        tmp_path,
    )
    wait_for_upserts(sandbox)
    sandbox.stop()
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode != 0
    assert "retrying it for up to 9 s (retry_seconds)" in stderr
    assert "Autopilot did not accept" in stderr
    assert "Nothing answers at" not in stderr
    assert stdout == ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_target(
    config: dict[str, Any], messages: list[dict[str, Any]], tmp_path: Path
) -> subprocess.Popen[str]:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"rejected_records_path": str(tmp_path / "rejected.jsonl"), **config}))
    process = start_cli(config_path)
    assert process.stdin is not None
    process.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    process.stdin.close()
    process.stdin = None  # written and closed: communicate() must not flush it
    return process


def wait_for_upserts(sandbox: Sandbox, timeout: float = 30) -> None:
    """Wait until the target has written its first contacts."""
    deadline = time.monotonic() + timeout
    while (
        requests_to(sandbox.stats(), "POST /v1/contacts") + requests_to(sandbox.stats(), "POST /v1/contact")
        < 1
    ):
        assert time.monotonic() < deadline, "the target did not get going"
        time.sleep(0.01)


@pytest.mark.parametrize("bulk", ["on", "off"])
def test_a_killed_run_rerun_ends_as_an_uninterrupted_one(
    bulk: str, sandbox_factory: SandboxFactory, run_target: RunTarget, tmp_path: Path
) -> None:
    messages = profiles(120)
    reference = sandbox_factory(bulk_list_assignment=bulk, duplicate_list_names="allow")
    assert run_target(target_config(reference), messages).code == 0
    sandbox = sandbox_factory(bulk_list_assignment=bulk, duplicate_list_names="allow", latency_ms=20)
    mode, rate = ("bulk", 3) if bulk == "on" else ("per_contact", 40)  # a few seconds of applying
    config = target_config(sandbox, requests_per_second=rate, list_assignment=mode)

    process = start_target(config, messages, tmp_path)
    wait_for_upserts(sandbox)
    process.send_signal(signal.SIGKILL)
    killed_stdout, _ = process.communicate(timeout=30)
    assert sandbox.lists() != reference.lists(), "the kill came too late to test anything"

    rerun = run_target(config, messages)

    assert rerun.code == 0, rerun.stderr
    assert killed_stdout == ""  # the killed run passed no STATE on
    assert sorted(sandbox.list_titles()) == sorted(reference.list_titles())
    assert sandbox.lists() == reference.lists()
    assert contacts(sandbox) == contacts(reference)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"]
)
def test_a_signal_while_applying_stops_once_and_reports_what_autopilot_holds(
    signum: int, code: int, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(bulk_list_assignment="off", latency_ms=20)
    config = target_config(
        sandbox,
        requests_per_second=40,
        list_assignment="per_contact",
        report_path=str(tmp_path / "report.json"),
    )

    process = start_target(config, profiles(120), tmp_path)
    wait_for_upserts(sandbox)
    process.send_signal(signum)
    time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # as Meltano does after a Ctrl-C
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == code
    assert stdout == ""
    assert stderr.count(f"Stopped by signal {signum}") == 1
    assert stderr.count("Export failed") == 1
    assert "No STATE was written" in stderr
    assert "Traceback" not in stderr
    report = json.loads((tmp_path / "report.json").read_text())
    held = sandbox.lists()
    assert 0 < report["upserted"] == len(contacts(sandbox)) < 120
    assert {title: figures["memberships_added"] for title, figures in report["segments"].items()} == {
        title: len(members) for title, members in held.items()
    }
