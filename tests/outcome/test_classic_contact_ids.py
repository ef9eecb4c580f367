"""A Classic bulk answered with `contact_ids` alone (no `email_contact_map`, `--bulk-contact-map off`): a bulk
whose ids cover it is done in that one request, and one that left a contact out is sent again contact by
contact, each with its list."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, activate_version, record, schema, state, target_config

S = "s"
NO_NICKNAME = "Custom field 'Nickname' does not exist."
UPSERT = "POST /v1/contact"
BULK = "POST /v1/contacts"
PROPERTIES = {"email": {"type": "string"}, "nickname": {"type": "string"}, "segments": {"type": "array"}}


def email(i: int) -> str:
    return f"p{i:03d}@example.com"


def messages(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A complete read of the stream: everyone in segment vip."""
    return [
        schema(S, PROPERTIES),
        activate_version(S),
        *[record(S, **person, segments=["vip"]) for person in people],
        state({"run": 1}),
    ]


@pytest.mark.parametrize("sandbox", [{"bulk_contact_map": "off"}], indirect=True)
def test_a_bulk_whose_ids_cover_it_is_not_sent_again(sandbox: Sandbox, run_target: RunTarget) -> None:
    config = target_config(sandbox, segment_property="segments", list_assignment="bulk")

    run = run_target(config, messages([{"email": email(i)} for i in range(150)]))

    assert run.code == 0, run.stderr[-2000:]
    assert run.rejected == []
    assert sandbox.lists() == {"vip": [email(i) for i in range(150)]}
    stats = sandbox.stats()["by_endpoint"]
    assert (stats.get(BULK), stats.get(UPSERT)) == ({"200": 2}, None)
    figures = run.report["segments"]["vip"]
    assert (figures["upserted"], figures["memberships_added"]) == (150, 150)


def nickname_config(sandbox: Sandbox, list_assignment: str) -> dict[str, Any]:
    """Nickname mapped to a field the account lacks: a contact with one is skipped by its bulk."""
    return target_config(
        sandbox,
        segment_property="segments",
        field_mapping={"Nickname": "nickname"},
        list_assignment=list_assignment,
        max_rejected_fraction=1,
    )


SKIPPING = {"bulk_contact_map": "off", "bulk_partial_failure": "skip-item", "custom_fields": "must-exist"}


# With the list ignored inside bulk items, only the contacts sent again can have put them in the list.
@pytest.mark.parametrize(
    "sandbox",
    [{**SKIPPING, "bulk_list_assignment": "on"}, {**SKIPPING, "bulk_list_assignment": "off"}],
    ids=["bulk-assigns-lists", "bulk-ignores-lists"],
    indirect=True,
)
def test_a_bulk_that_left_a_contact_out_is_sent_again_one_by_one_with_its_list(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    bad = {"email": email(2), "nickname": "Lucky"}  # Autopilot has no such field: it skips this one
    people = [{"email": email(i)} for i in range(5)]
    people[2] = bad
    config = nickname_config(sandbox, "bulk")

    run = run_target(config, messages(people))

    assert run.code == 0, run.stderr[-2000:]
    valid = [email(i) for i in (0, 1, 3, 4)]
    assert sandbox.lists() == {"vip": valid}
    assert run.rejected == [
        {
            "stream": S,
            "reason": "api_rejected",
            "message": f"Autopilot refused to upsert (HTTP 400): {NO_NICKNAME}",
            "record": {**bad, "segments": ["vip"]},
        }
    ]
    figures = run.report["segments"]["vip"]
    assert (figures["upserted"], figures["memberships_added"], figures["rejected"]) == (
        4,
        4,
        {"api_rejected": 1},
    )
    # The ids cannot say who was left out: each contact of the bulk is sent again on its own.
    stats = sandbox.stats()["by_endpoint"]
    assert (stats[BULK], stats[UPSERT]) == ({"200": 1}, {"200": 4, "400": 1})


@pytest.mark.parametrize("sandbox", [{**SKIPPING, "bulk_list_assignment": "off"}], indirect=True)
def test_the_probe_judges_a_contact_the_bulk_took_not_one_sent_again_alone(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    people = [{"email": email(i)} for i in range(150)]
    people[2] = {"email": email(2), "nickname": "Lucky"}  # skipped: its bulk is sent again contact by contact
    config = nickname_config(sandbox, "auto")

    run = run_target(config, messages(people))

    assert run.code == 0, run.stderr[-2000:]
    assert sandbox.lists() == {"vip": [email(i) for i in range(150) if i != 2]}  # the second bulk's too
    assert [line["record"]["email"] for line in run.rejected] == [email(2)]
    assert run.report["list_assignment"] == "per_contact"
