"""A Classic bulk upsert too large for Autopilot (413) is split in halves until each part fits; a bulk
refused for another reason is refused whole, in one request."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, activate_version, record, schema, state, target_config

S = "s"
MIB = 1024 * 1024  # the sandbox takes request bodies of at most 32 MiB
PEOPLE = ("ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com")
REFUSED = "Autopilot refused to upsert (HTTP 403): Refused by the sandbox (its `refuse` setting)."


def messages(notes: list[str]) -> list[dict[str, Any]]:
    return [
        schema(S, {"email": {"type": "string"}, "note": {"type": "string"}, "segments": {"type": "array"}}),
        activate_version(S),
        *[
            record(S, email=address, note=note, segments=["vip"])
            for address, note in zip(PEOPLE, notes, strict=True)
        ],
        state({"run": 1}),
    ]


@pytest.mark.parametrize(
    ("sizes", "bulks"),
    [
        # 44 MiB: refused; each half of 22 MiB fits.
        ((11 * MIB, 11 * MIB, 11 * MIB, 11 * MIB), 3),
        # 34 MiB: refused; ada and bob fit, cy and dee (34 MiB) are refused again and go one by one.
        ((5, 5, 17 * MIB, 17 * MIB), 5),
    ],
    ids=["halves-fit", "a-half-is-halved"],
)
def test_a_bulk_too_large_is_halved_until_each_part_fits(
    sizes: tuple[int, ...], bulks: int, sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(
        sandbox, segment_property="segments", field_mapping={"Note": "note"}, list_assignment="bulk"
    )

    run = run_target(config, messages(["n" * size for size in sizes]))

    assert run.code == 0, run.stderr[-2000:]
    assert run.rejected == []
    assert sandbox.lists() == {"vip": list(PEOPLE)}
    assert run.report["requests"]["by_endpoint"]["POST /contacts"] == bulks
    figures = run.report["segments"]["vip"]
    assert (figures["upserted"], figures["memberships_added"], figures["rejected"]) == (4, 4, {})
    assert run.report["upserted"] == 4  # every part's accepted people, not the last part's


@pytest.mark.parametrize("sandbox", [{"refuse": ["POST /v1/contacts"]}], indirect=True)
def test_a_bulk_refused_for_another_reason_is_refused_whole(sandbox: Sandbox, run_target: RunTarget) -> None:
    config = target_config(
        sandbox, segment_property="segments", list_assignment="bulk", max_rejected_fraction=1
    )

    run = run_target(config, messages(["x"] * 4))

    assert run.code == 0, run.stderr[-2000:]
    assert [(line["record"]["email"], line["reason"], line["message"]) for line in run.rejected] == [
        (address, "api_rejected", REFUSED) for address in PEOPLE
    ]
    assert run.report["requests"]["by_endpoint"]["POST /contacts"] == 1
