"""How a run ends and what it says: rejections decide the outcome, settings that do nothing are named."""

from __future__ import annotations

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, state, target_config

S = "people"


def mostly_bad() -> list[dict[str, object]]:
    """Three good records and four without a usable email: 4 of 7 rejected."""
    good = [record(S, email=f"good{i}@example.com") for i in range(3)]
    bad = [record(S, email=f"broken{i}") for i in range(4)]
    return [schema(S, ["email"]), *good, *bad, state({"offset": 7})]


def test_a_run_rejecting_most_records_fails_without_state(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(target_config(sandbox), mostly_bad())

    assert run.code == 1
    assert run.states == []  # the next run sends the records again
    assert "4 of the run's 7 records were rejected (57%), more than max_rejected_fraction = 0.5" in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.lists() == {S: [f"good{i}@example.com" for i in range(3)]}  # what was written stays
    assert run.report["status"] == "failed"
    assert "max_rejected_fraction" in run.report["failure"]
    assert run.report["upserted"] == 3
    assert [line["reason"] for line in run.rejected] == ["invalid_email"] * 4


def test_max_rejected_fraction_one_lets_such_a_run_pass(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(target_config(sandbox, max_rejected_fraction=1), mostly_bad())

    assert run.code == 0, run.stderr
    assert run.states == [{"offset": 7}]
    assert run.report["status"] == "completed"


def test_a_segments_key_naming_no_stream_is_a_warning(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(
        target_config(sandbox, segments={"VIP": "VIP customers"}),
        [schema("vip", ["email"]), record("vip", email="ada@example.com")],
    )

    assert run.code == 0, run.stderr
    assert "segments names the stream 'VIP', which did not arrive in this run (streams that did: vip)" in (
        run.stderr
    )
    assert sandbox.lists() == {"vip": ["ada@example.com"]}


def test_a_run_that_received_nothing_says_why_that_can_be(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(target_config(sandbox), [schema(S, ["email"]), state({"offset": 0})])

    assert run.code == 0, run.stderr
    assert "The tap sent no record (streams: people)" in run.stderr
    assert "--full-refresh" in run.stderr
    assert sandbox.stats()["requests_total"] == 0


def test_one_request_is_one_request(sandbox: Sandbox, run_target: RunTarget) -> None:
    # bulk: no probe, so the one upsert is the whole of the work announced
    config = target_config(sandbox, list_assignment="bulk")
    run = run_target(config, [schema(S, ["email"]), record(S, email="ada@example.com")])

    assert run.code == 0, run.stderr
    assert "Applying: about 1 request at" in run.stderr
