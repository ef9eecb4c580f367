"""Custom field types are checked before the first write; a refusal the plan could not foresee stops early."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, target_config, writes

S = "people"
SIGNUP = {"email": {"type": "string"}, "signup": {"type": ["string", "null"], "format": "date-time"}}


def signups(count: int) -> list[dict[str, Any]]:
    return [schema(S, SIGNUP)] + [
        record(S, email=f"p{i}@example.com", signup="2024-05-01T10:00:00Z") for i in range(count)
    ]


def test_one_field_mapped_with_two_types_is_an_error_before_any_write(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    plain = {"email": {"type": "string"}, "signup": {"type": ["string", "null"]}}
    run = run_target(
        target_config(sandbox, field_mapping={"Signup": "signup", "date--Signup": "signup"}),
        [schema(S, plain), record(S, email="ada@example.com", signup="2024-05-01")],
    )

    assert run.code == 1
    assert "The custom field 'Signup' is mapped with 2 types (date, string)" in run.stderr
    assert "'date--Signup' ← property 'signup' of stream 'people'" in run.stderr
    assert "'string--Signup' ← property 'signup' of stream 'people'" in run.stderr
    assert writes(sandbox.stats()) == 0
    assert run.states == []


def test_a_date_mapped_onto_an_existing_string_field_is_an_error_before_any_write(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    sandbox.create_custom_field("Signup Date", "string")
    sandbox.reset_stats()

    run = run_target(target_config(sandbox, field_mapping={"Signup Date": "signup"}), signups(50))

    assert run.code == 1
    assert (
        "The custom field 'Signup Date' is a string field in Autopilot, but field_mapping sends it a date "
        "value ('date--Signup--Date' ← property 'signup' of stream 'people'). Map it as "
        "'string--Signup--Date'"
    ) in run.stderr
    stats = sandbox.stats()
    assert writes(stats) == 0
    assert stats["requests_total"] == 1  # GET /contacts/custom_fields: before this, ~3 a profile
    assert run.states == []
    assert sandbox.lists() == {}


def test_the_account_type_written_out_passes(sandbox: Sandbox, run_target: RunTarget) -> None:
    sandbox.create_custom_field("Signup Date", "string")

    run = run_target(target_config(sandbox, field_mapping={"string--Signup--Date": "signup"}), signups(2))

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {S: ["p0@example.com", "p1@example.com"]}


@pytest.mark.parametrize("sandbox", [{"custom_fields": "must-exist"}], indirect=True)
def test_a_systematic_refusal_stops_the_run_early(sandbox: Sandbox, run_target: RunTarget) -> None:
    # An account where custom fields must exist first: the plan cannot know, Autopilot refuses all.
    run = run_target(target_config(sandbox, field_mapping={"Signup Date": "signup"}), signups(300))

    assert run.code == 1
    assert "Autopilot refused 100 of the first 100 profiles for the same reason" in run.stderr
    assert "Custom field 'Signup Date' does not exist. The export stopped" in run.stderr
    assert run.states == []
    assert [line["reason"] for line in run.rejected] == ["api_rejected"] * 100  # the refused ones, with why
    # Refused one by one, 300 profiles cost over 500 requests; the first 100 cost about 200.
    assert sandbox.stats()["requests_total"] < 250
