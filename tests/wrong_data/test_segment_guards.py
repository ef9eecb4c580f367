"""What the new users' segments did: one broken view inside a healthy run, cells naming several
segments, and a mirror run that mirrored nothing, over the sandbox."""

from __future__ import annotations

import re
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import ortto_config
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
    return [record("people", email=f"p{i}@example.com", segment=f"S{i};x") for i in range(count)]


def test_too_many_new_tags_stop_the_run_before_any_write(sandbox: Sandbox, run_target: RunTarget) -> None:
    """38 junk tags in one run: stopped before any write, naming them; a dry run names them and says
    the same; a first export of a dozen segments goes through at the default."""
    config = ortto_config(sandbox, segment_property="segment")
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
    assert set(sandbox.stats()["by_endpoint"]) == {"POST /v1/tags/get"}  # a read: nothing written
    assert (sandbox.tags(), sandbox.people()) == ({}, [])

    dozen = run_target(config, [schema("people", PEOPLE), *segments(12), state({"done": 2})])

    assert dozen.code == 0, dozen.stderr
    assert dozen.states == [{"done": 2}]
    assert len(sandbox.tags()) == 12


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
