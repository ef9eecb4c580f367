"""What the new users' segments did: one broken view inside a healthy run, cells naming several
segments, and a mirror run that mirrored nothing, over the sandbox."""

from __future__ import annotations

import re
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import custom_fields, ortto_config
from tests.target.support import RunTarget, logged_at, record, schema, state, target_config

PEOPLE = ["email", "first_name", "segment"]


def people(stream: str, count: int, *, bad: int = 0) -> list[dict[str, Any]]:
    """`count` records of `stream`, the first `bad` of them with an address that is not one."""
    return [
        record(stream, email=f"{stream}{i}.example.com" if i < bad else f"{stream}{i}@example.com")
        for i in range(count)
    ]


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def message(stderr: str) -> str:
    """The last log line's message, with each run's own file name made the same."""
    return re.sub(r"run-\d+-", "run-N-", last_line(stderr).split("| ")[-1])


def test_one_broken_segment_fails_the_run_after_the_others_are_exported(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """A view with 70% bad emails inside a run whose overall rejected share is 14%."""
    messages = [
        schema("good", PEOPLE),
        *people("good", 43),
        schema("broken", PEOPLE),
        *people("broken", 10, bad=7),
        state({"done": 1}),
    ]
    run = run_target(target_config(sandbox), messages)

    assert run.code == 1, run.stderr
    assert run.states == []
    assert (
        "A segment lost more than max_rejected_fraction = 0.5 of its records to rejections: "
        "'broken': 7 of 10 records (70%). The other segments were exported"
    ) in last_line(run.stderr)
    assert len(sandbox.lists()["good"]) == 43
    assert len(run.rejected) == 7


def test_a_segment_too_small_to_judge_warns_instead_of_failing_the_run(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """An incremental read's few changed rows: one bad row of three must not stop every run until fixed."""
    messages = [
        schema("good", PEOPLE),
        *people("good", 20),
        schema("changed", PEOPLE),
        *people("changed", 3, bad=2),
        state({"done": 1}),
    ]
    run = run_target(target_config(sandbox), messages)

    assert run.code == 0, run.stderr
    assert run.states == [{"done": 1}]
    assert (
        "Segment 'changed': 2 of 3 records were rejected, more than max_rejected_fraction = 0.5; too few "
        "records to fail the run for (fewer than 10)"
    ) in logged_at("WARNING", run.stderr)
    assert sandbox.lists()["changed"] == ["changed2@example.com"]


@pytest.mark.parametrize("api", ["classic", "ortto"])
def test_a_cell_naming_several_segments(api: str, sandbox: Sandbox, run_target: RunTarget) -> None:
    """`VIP;Newsletter` is one junk segment and a WARNING with the hint; with segment_separator, two."""
    messages = [
        schema("people", PEOPLE),
        record("people", email="a@example.com", segment="VIP;Newsletter"),
        record("people", email="b@example.com", segment="VIP"),
    ]
    config = ortto_config(sandbox) if api == "ortto" else target_config(sandbox)
    config["segment_property"] = "segment"

    joined = run_target(config, messages)
    sandbox.reset()
    split = run_target({**config, "segment_separator": ";"}, messages)

    assert joined.code == 0, joined.stderr
    assert (
        "Segment names holding ';' or ',' or '|': 'VIP;Newsletter'. If a cell of 'segment' names several "
        "segments, set segment_separator"
    ) in logged_at("WARNING", joined.stderr)
    assert split.code == 0, split.stderr
    assert "segment_separator" not in split.stderr
    held = sandbox.tags() if api == "ortto" else sandbox.lists()
    assert held == {"Newsletter": ["a@example.com"], "VIP": ["a@example.com", "b@example.com"]}


def segments(count: int) -> list[dict[str, Any]]:
    """One person in each of `count` segments named like a CSV cell of several: `S0;x`, `S1;x`, …"""
    return [
        record("people", email=f"p{i}@example.com", first_name=f"P{i}", segment=f"S{i};x")
        for i in range(count)
    ]


def test_too_many_new_tags_stop_the_run_before_any_write(sandbox: Sandbox, run_target: RunTarget) -> None:
    """38 junk tags in one run: stopped before any write, naming them; a dry run names them and says
    the same; a first export of a dozen segments goes through at the default."""
    # "Nick" is a custom field the account does not have: creating it would be a write too.
    config = ortto_config(sandbox, segment_property="segment", field_mapping={"Nick": "first_name"})
    messages = [schema("people", PEOPLE), *segments(38), state({"done": 1})]

    dry = run_target({**config, "dry_run": True}, messages)
    real = run_target(config, messages)

    for run in (dry, real):
        assert run.code == 1, run.stderr
        assert run.states == []
        assert (
            "The run would create 38 new tags, more than max_new_segments = 25 allows: "
            "'S0;x', 'S10;x', 'S11;x'"
        ) in last_line(run.stderr)
    assert "Dry run: would create 38 new tags: 'S0;x', 'S10;x', 'S11;x'" in logged_at("INFO", dry.stderr)
    assert last_line(dry.stderr).split("| ")[-1].startswith("Dry run: the real run would fail")
    reads = {"POST /v1/tags/get", "POST /v1/person/custom-field/get"}
    assert set(sandbox.stats()["by_endpoint"]) == reads  # nothing written
    assert (sandbox.tags(), sandbox.people(), custom_fields(sandbox)) == ({}, [], {})

    dozen = run_target(config, [schema("people", PEOPLE), *segments(12), state({"done": 2})])

    assert dozen.code == 0, dozen.stderr
    assert dozen.states == [{"done": 2}]
    assert len(sandbox.tags()) == 12
    assert list(custom_fields(sandbox)) == ["str:cm:nick"]


@pytest.mark.parametrize(
    ("case", "settings", "records"),
    [
        ("every record rejected", {}, [record("people", email="not-an-email")]),
        (
            "a new list past max_new_segments = 0",
            {"max_new_segments": 0},
            [record("people", email="a@example.com")],
        ),
        (
            "most values dropped",
            {"field_mapping": {"integer--Orders": "first_name"}},
            [record("people", email="a@example.com", first_name="Ann")],
        ),
    ],
)
def test_a_dry_run_ends_as_the_real_run_would(
    case: str,
    settings: dict[str, Any],
    records: list[dict[str, Any]],
    sandbox: Sandbox,
    run_target: RunTarget,
) -> None:
    messages = [schema("people", PEOPLE), *records, state({"done": 1})]
    config = target_config(sandbox, **settings)

    dry = run_target({**config, "dry_run": True}, messages)
    real = run_target(config, messages)

    assert (dry.code, real.code) == (1, 1), case
    assert dry.states == real.states == []
    real_message = message(real.stderr)
    assert message(dry.stderr) == "Dry run: the real run would fail, with this message: " + real_message
    assert dry.report["status"] == "dry_run"
    assert message(dry.report["failure"]) == message(dry.stderr)


def test_mirror_that_mirrors_nothing_says_which_setting_to_change(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """A CSV tap sends no ACTIVATE_VERSION: at the default complete_streams, mirror removes no one."""
    messages = [schema("vip", PEOPLE), *people("vip", 2), state({"done": 1})]
    run = run_target(target_config(sandbox, sync_mode="mirror"), messages)

    assert run.code == 0, run.stderr
    assert (
        "sync_mode mirror mirrors no list in this run: no stream arrived complete (complete_streams: "
        "activate_version; this tap sent no ACTIVATE_VERSION. A file tap that re-reads whole files "
        "(tap-spreadsheets) needs complete_streams: sent)"
    ) in logged_at("WARNING", run.stderr)
