"""Stored values read back: when an unchanged re-run sends nothing and when it sends a person again,
per field kind (text in a number field, instants with milliseconds, integers past float precision, the
unsubscribed flag), a field merged in from a second stream, and lists whose names hold a space."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import ortto_config
from tests.sync.test_change_detection import PROFILE_SCHEMA, edit_by_hand, updated_at
from tests.target.support import RunTarget, record, schema, target_config

MAPPING = {
    "FirstName": "first_name",
    "NumberOfEmployees": "employees",
    "Orders": "orders",
    "Lifetime Value": "lifetime_value",
    "Signed Up": "signed_up",
    "unsubscribed": "unsubscribed",
}
SCHEMA = {**PROFILE_SCHEMA, "unsubscribed": {"type": "boolean"}}
BIG = 2**53 + 1  # the first integer a float cannot hold
# One edit by hand per person between two identical exports: the field, the value written by hand,
# and whether the target must send the person again.
EDITS: list[tuple[str, Any, bool]] = [
    ("NumberOfEmployees", str(BIG), True),  # the number as text: not the number the source sends
    ("NumberOfEmployees", float(BIG), False),  # the nearest double: the API holds numbers as doubles
    ("date--Signed--Up", "2024-05-01T10:00:00.123+02:00", False),  # the same instant, to the millisecond
    ("date--Signed--Up", "2024-05-01T08:00:00.120Z", True),  # 3 ms earlier
    ("date--Signed--Up", "2024-05-01T08:00:00.123", True),  # no time zone: not an instant
    ("integer--Orders", BIG - 1, True),  # equal as floats, not as integers
    ("float--Lifetime--Value", 1520, True),
    ("float--Lifetime--Value", 1520.25, False),  # the number the source sends, written as it is
    ("unsubscribed", False, True),  # re-subscribed by hand: unsubscribed again
]


def person(i: int) -> dict[str, Any]:
    return record(
        "customers",
        email=f"p{i}@example.com",
        first_name="Ada",
        employees=BIG,
        orders=BIG,
        lifetime_value=1520.25,
        signed_up="2024-05-01T08:00:00.123Z",
        unsubscribed=True,
    )


def test_a_person_is_sent_again_only_when_a_stored_value_differs(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    messages = [schema("customers", SCHEMA), *(person(i) for i in range(len(EDITS) + 1))]
    config = target_config(sandbox, field_mapping=MAPPING)
    assert run_target(config, messages).code == 0
    for i, (key, value, _again) in enumerate(EDITS):
        edit_by_hand(sandbox, f"p{i}@example.com", key, value)
    before = updated_at(sandbox)

    rerun = run_target(config, messages)

    assert rerun.code == 0, rerun.stderr
    after = updated_at(sandbox)
    sent = sorted(email for email in after if after[email] != before[email])
    assert sent == sorted(f"p{i}@example.com" for i, (_k, _v, again) in enumerate(EDITS) if again)
    assert rerun.report["unchanged"] == len(messages) - 1 - len(sent)
    stored = sandbox.contact("p0@example.com") or {}
    assert stored["NumberOfEmployees"] == BIG  # the source's number is back


@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off"}], indirect=True)
def test_per_contact_memberships_of_a_list_whose_name_holds_a_space(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """An unchanged person joining 'Gold club' costs a membership, a new one an upsert into it: the
    list keeps its whole name."""
    config = target_config(sandbox, list_assignment="per_contact", segments={"gold": "Gold club"})
    vip = [
        schema("vip", ["email"]),
        record("vip", email="a@example.com"),
        record("vip", email="b@example.com"),
    ]
    assert run_target(config, vip).code == 0

    run = run_target(
        config,
        [
            *vip,
            schema("gold", ["email"]),
            record("gold", email="c@example.com"),
            record("gold", email="a@example.com"),
        ],
    )

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {
        "vip": ["a@example.com", "b@example.com"],
        "Gold club": ["a@example.com", "c@example.com"],
    }


def test_a_standard_field_staged_after_the_custom_ones_is_compared_too(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """A person's first record holds only a custom field, the second a standard one: a hand edit of
    the standard one still sends the person again; so does a custom value Autopilot does not hold yet."""
    messages = [
        schema("orders", {"email": {"type": "string"}, "orders": {"type": "integer"}}),
        record("orders", email="p@example.com", orders=3),
        schema("names", ["email", "first_name"]),
        record("names", email="p@example.com", first_name="Ada"),
        record("names", email="q@example.com", first_name="Bea"),
    ]
    config = target_config(sandbox, field_mapping={"Orders": "orders", "FirstName": "first_name"})
    assert run_target(config, messages).code == 0
    edit_by_hand(sandbox, "p@example.com", "FirstName", "Adda")
    before = updated_at(sandbox)

    rerun = run_target(config, [*messages, record("orders", email="q@example.com", orders=1)])

    assert rerun.code == 0, rerun.stderr
    after = updated_at(sandbox)
    assert sorted(email for email in after if after[email] != before[email]) == [
        "p@example.com",
        "q@example.com",
    ]
    assert (sandbox.contact("p@example.com") or {})["FirstName"] == "Ada"


def test_on_ortto_a_changed_person_leaving_one_tag_is_untagged_in_the_same_write(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """Ada is in 'gold' and 'vip', then only in 'gold' with a new name: her merge unsets 'vip'."""
    properties = ["email", "first_name", "segment"]
    config = ortto_config(
        sandbox,
        segment_property="segment",
        segment_separator=";",
        sync_mode="mirror",
        complete_streams="sent",
    )
    before = [
        schema("people", properties),
        record("people", email="ada@example.com", first_name="Ada", segment="gold;vip"),
        record("people", email="bob@example.com", first_name="Bob", segment="vip"),
    ]
    assert run_target(config, before).code == 0

    run = run_target(
        config,
        [
            schema("people", properties),
            record("people", email="ada@example.com", first_name="Adda", segment="gold"),
            record("people", email="bob@example.com", first_name="Bob", segment="vip"),
        ],
    )

    assert run.code == 0, run.stderr
    assert sandbox.tags() == {"gold": ["ada@example.com"], "vip": ["bob@example.com"]}
