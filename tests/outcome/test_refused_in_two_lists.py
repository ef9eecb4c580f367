"""A contact Autopilot refuses in each of its lists' bulks is written to the rejected file once."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, target_config

STREAM = schema(
    "s",
    {
        "email": {"type": "string"},
        "nickname": {"type": ["string", "null"]},
        "segments": {"type": ["array", "null"]},
    },
)


def bulk_config(sandbox: Sandbox) -> dict[str, Any]:
    """Bulk upserts with lists; Nickname is a field the account does not have, so refused."""
    return target_config(
        sandbox,
        field_mapping={"Nickname": "nickname"},
        segment_property="segments",
        list_assignment="bulk",
        max_rejected_fraction=1,
    )


@pytest.mark.parametrize("sandbox", [{"custom_fields": "must-exist"}], indirect=True)
def test_a_contact_refused_in_two_lists_is_rejected_once(sandbox: Sandbox, run_target: RunTarget) -> None:
    sandbox.configure(bulk_partial_failure="reject-batch")
    bad = {"email": "bob@example.com", "nickname": "Lucky", "segments": ["gold", "vip"]}
    config = bulk_config(sandbox)

    run = run_target(
        config, [STREAM, record("s", email="ada@example.com", segments=["gold", "vip"]), record("s", **bad)]
    )

    assert run.code == 0, run.stderr
    assert [(line["reason"], line["record"]) for line in run.rejected] == [("api_rejected", bad)]
    assert {title: figures["rejected"] for title, figures in run.report["segments"].items()} == {
        "gold": {"api_rejected": 1},
        "vip": {"api_rejected": 1},
    }
    assert sandbox.lists() == {"gold": ["ada@example.com"], "vip": ["ada@example.com"]}


@pytest.mark.parametrize("sandbox", [{"custom_fields": "must-exist"}], indirect=True)
def test_a_refusal_after_one_written_before_is_still_written(sandbox: Sandbox, run_target: RunTarget) -> None:
    """Whichever list's bulk is recorded second, its first refusal (bob) was written already and its
    second (carl or dan) was not."""
    sandbox.configure(bulk_partial_failure="reject-batch")
    bad = [
        {"email": "bob@example.com", "nickname": "Lucky", "segments": ["gold", "vip"]},
        {"email": "carl@example.com", "nickname": "Ace", "segments": ["vip"]},
        {"email": "dan@example.com", "nickname": "Duke", "segments": ["gold"]},
    ]
    config = bulk_config(sandbox)

    run = run_target(
        config,
        [
            STREAM,
            record("s", email="ada@example.com", segments=["gold", "vip"]),
            *(record("s", **r) for r in bad),
        ],
    )

    assert run.code == 0, run.stderr
    assert sorted((line["record"]["email"], line["reason"]) for line in run.rejected) == [
        ("bob@example.com", "api_rejected"),
        ("carl@example.com", "api_rejected"),
        ("dan@example.com", "api_rejected"),
    ]
    assert sandbox.lists() == {"gold": ["ada@example.com"], "vip": ["ada@example.com"]}
