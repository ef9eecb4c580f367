"""The guards' whole messages, word for word: dropped values (with their shortened examples), rejected
fractions of the run and of segments (at the 10-record boundary), new segments, the warnings about
joined names and unread properties, and what a dry run says instead of stopping."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, state, target_config

ADVICE = (
    "the next run sends these records again (what Autopilot accepted stays). The reasons are in {path}. "
    "Fix the cause, or raise max_rejected_fraction (1 never fails a run for its rejections)."
)
WOULD_FAIL = "Dry run: the real run would fail, with this message: "
WOULD_STOP = "Dry run: a real run would stop here. "


def messages_at(level: str, stderr: str) -> list[str]:
    """The messages of the log lines at `level`, each without its time, level and logger."""
    marker = f"| {level.ljust(8)} | "
    return [line.split(marker, 1)[1].split(" | ", 1)[-1] for line in stderr.splitlines() if marker in line]


def last_message(stderr: str) -> str:
    return stderr.strip().splitlines()[-1].split(" | ")[-1]


def people(stream: str, count: int, *, bad: int = 0) -> list[dict[str, Any]]:
    """`count` records of `stream`, the first `bad` of them with an address that is not one."""
    return [
        record(stream, email=f"{stream}{i}.example.com" if i < bad else f"{stream}{i}@example.com")
        for i in range(count)
    ]


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_dropped_values_message_shows_each_field_with_an_example_cut_at_60_characters(
    dry_run: bool, sandbox: Sandbox, run_target: RunTarget
) -> None:
    """Examples whose repr is 60 characters long are shown whole; at 61, cut to 57 and '...'. A field
    losing exactly max_dropped_fraction of its values (2 of 5) is not named."""
    fits, too_long = "x" * 58, "y" * 59  # reprs of 60 and 61 characters
    a_values, c_values = [fits, "x", "y", "1", "2"], ["no", "nope", "3", "4", "5"]
    messages = [
        schema("people", ["email", "a", "b", "c"]),
        *[
            record("people", email=f"p{i}@example.com", a=a, b=too_long, c=c)
            for i, (a, c) in enumerate(zip(a_values, c_values, strict=True))
        ],
        state({"done": 1}),
    ]
    mapping = {"integer--A": "a", "integer--B": "b", "integer--C": "c"}
    config = target_config(sandbox, field_mapping=mapping, max_dropped_fraction=0.4, dry_run=dry_run)

    run = run_target(config, messages)

    problem = (
        "A field would lose most of its values: "
        f"3 of 5 values of the field 'integer--A' (property 'a', e.g. '{fits}'); "
        f"5 of 5 values of the field 'integer--B' (property 'b', e.g. '{too_long[:56]}...)"
        " cannot be stored, more than max_dropped_fraction = 0.4 allows. Check field_mapping (is the "
        "property the right one, is the type in the key right?). Nothing was written to Autopilot and no "
        "STATE was emitted. If the data is right, raise max_dropped_fraction (1 never stops a run for its "
        "dropped values)."
    )
    assert run.code == 1, run.stderr
    assert run.states == []
    assert sandbox.lists() == {}
    if dry_run:
        assert WOULD_STOP + problem in messages_at("WARNING", run.stderr)
        assert last_message(run.stderr) == WOULD_FAIL + problem
    else:
        assert last_message(run.stderr) == problem
        assert not any(line.startswith("Dry run") for line in messages_at("WARNING", run.stderr))


@pytest.mark.parametrize("max_fraction", [0.25, 0.75])
def test_too_many_rejected_records_of_the_run(
    max_fraction: float, sandbox: Sandbox, run_target: RunTarget
) -> None:
    """3 of 4 records rejected fail the run over max_rejected_fraction = 0.25; at exactly 0.75, not."""
    run = run_target(
        target_config(sandbox, max_rejected_fraction=max_fraction),
        [schema("vip", ["email"]), *people("vip", 4, bad=3), state({"done": 1})],
    )

    if max_fraction == 0.75:
        assert run.code == 0, run.stderr
        assert run.states == [{"done": 1}]
        return
    assert run.code == 1, run.stderr
    assert run.states == []
    assert last_message(run.stderr) == (
        "3 of the run's 4 records were rejected (75%), more than max_rejected_fraction = 0.25 allows, so "
        "the run failed and wrote no STATE: " + ADVICE.format(path=run.rejected_path)
    )


@pytest.mark.parametrize("dry_run", [False, True])
def test_segments_fail_the_run_from_10_records_and_warn_below(
    dry_run: bool, sandbox: Sandbox, run_target: RunTarget
) -> None:
    """'ten' (6 of 10 bad) and 'twelve' (7 of 12) fail the run, 'nine' (9 of 9) only warns, and 'fine'
    (2 of 70) and 'half' (5 of 10: not over 0.5) say nothing; the run as a whole lost 29 of 111."""
    messages = [
        schema("fine", ["email"]),
        *people("fine", 70, bad=2),
        schema("half", ["email"]),
        *people("half", 10, bad=5),
        schema("ten", ["email"]),
        *people("ten", 10, bad=6),
        schema("nine", ["email"]),
        *people("nine", 9, bad=9),
        schema("twelve", ["email"]),
        *people("twelve", 12, bad=7),
        state({"done": 1}),
    ]
    run = run_target(target_config(sandbox, dry_run=dry_run), messages)

    path = run.rejected_path
    problem = (
        "A segment lost more than max_rejected_fraction = 0.5 of its records to rejections: 'ten': 6 of 10 "
        "records (60%); 'twelve': 7 of 12 records (58%). The other segments were exported; the run failed "
        "and wrote no STATE: " + ADVICE.format(path=path)
    )
    assert run.code == 1, run.stderr
    assert run.states == []
    warnings = messages_at("WARNING", run.stderr)
    assert [warning for warning in warnings if warning.startswith("Segment ")] == [
        "Segment 'nine': 9 of 9 records were rejected, more than max_rejected_fraction = 0.5; too few "
        f"records to fail the run for (fewer than 10): read the reasons in {path}"
    ]
    if dry_run:
        assert WOULD_STOP + problem in warnings
        assert last_message(run.stderr) == WOULD_FAIL + problem
        assert sandbox.lists() == {}
    else:
        assert last_message(run.stderr) == problem
        assert len(sandbox.lists()["fine"]) == 68


def test_a_dry_run_names_every_guard_a_real_run_would_stop_for(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """A mirror run that empties 'vip' and creates two lists past max_new_segments = 1: the dry run
    lists the new lists, warns for each guard, and ends with both messages in the real run's order."""
    setup = [schema("vip", ["email"]), *people("vip", 4), schema("old", ["email"]), *people("old", 1)]
    assert run_target(target_config(sandbox), setup).code == 0
    before = sandbox.dump()
    messages = [
        schema("vip", ["email"]),
        {"type": "ACTIVATE_VERSION", "stream": "vip", "version": 1},
        schema("zeta", ["email"]),
        *people("zeta", 2),
        schema("old", ["email"]),  # exists: not a new list
        *people("old", 1),
        schema("gold", ["email"]),
        *people("gold", 1),
        state({"done": 1}),
    ]
    config = target_config(sandbox, sync_mode="mirror", max_new_segments=1)

    dry = run_target({**config, "dry_run": True}, messages)
    real = run_target(config, messages)

    new = (
        "The run would create 2 new lists, more than max_new_segments = 1 allows: 'gold', 'zeta'. Autopilot "
        "cannot delete them afterwards, so nothing was written. If a cell names several segments, set "
        "segment_separator; if these are right, raise max_new_segments for this run."
    )
    guard = dry.report["guard"] + " Nothing was written to Autopilot."
    assert (dry.code, real.code) == (1, 1), dry.stderr
    assert "Dry run: would create 2 new lists: 'gold', 'zeta'" in messages_at("INFO", dry.stderr)
    warnings = messages_at("WARNING", dry.stderr)
    assert [WOULD_STOP + guard, WOULD_STOP + new] == [w for w in warnings if w.startswith(WOULD_STOP)]
    assert last_message(dry.stderr) == WOULD_FAIL + guard + " " + new
    assert dry.report["failure"] == WOULD_FAIL + guard + " " + new
    assert last_message(real.stderr) == guard  # the first guard stops the real run
    assert "Dry run" not in real.stderr
    assert sandbox.dump() == before

    at_the_limit = run_target({**config, "max_new_segments": 2, "max_removal_fraction": 1}, messages)

    assert at_the_limit.code == 0, at_the_limit.stderr
    assert {title: len(members) for title, members in sandbox.lists().items()} == {
        "gold": 1,
        "old": 1,
        "vip": 0,
        "zeta": 2,
    }


def test_warnings_about_joined_names_and_properties_no_stream_has(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    properties = ["email", "first_name", "segment"]
    messages = [
        schema("b-leads", properties),
        *[
            record("b-leads", email=f"p{i}@example.com", first_name="P", segment=segment)
            for i, segment in enumerate(["VIP;News", "Plain", "C,D", "A|B"])
        ],
        schema("a-customers", ["email", "first_name"]),
        record("a-customers", email="c@example.com", first_name="C"),
        state({"done": 1}),
    ]
    mapping = {"FirstName": "frist_name", "LastName": "surname", "Company": "first_name"}
    config = target_config(sandbox, field_mapping=mapping, segment_property="segment")

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    warnings = messages_at("WARNING", run.stderr)
    assert [w for w in warnings if w.startswith(("field_mapping.", "Segment names"))] == [
        "field_mapping.FirstName names the property 'frist_name', which no stream of this run has (streams "
        "read: a-customers, b-leads), so FirstName is left out. Did you mean 'first_name'?",
        "field_mapping.LastName names the property 'surname', which no stream of this run has (streams "
        "read: a-customers, b-leads), so LastName is left out",
        "Segment names holding ';' or ',' or '|': 'A|B', 'C,D', 'VIP;News'. If a cell of 'segment' names "
        "several segments, set segment_separator (e.g. ';') so each becomes its own list or tag",
    ]
    assert run.states == [{"done": 1}]
