"""Change detection: a contact Autopilot already stores as it would be sent is not upserted again."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target import test_export as export_tests
from tests.target.support import RunTarget, by_hand, custom_fields, record, requests_to, schema, target_config

PROFILE_SCHEMA = {**export_tests.PROFILE_SCHEMA, "employees": {"type": ["integer", "null"]}}
MAPPING = {**export_tests.MAPPING, "NumberOfEmployees": "employees"}  # FirstName: found by its name
# Each person gets one change by hand in Autopilot between two identical exports: the field, the
# value written by hand, and whether the target must send the person again.
HAND_EDITS: list[tuple[str, Any, bool]] = [
    ("FirstName", "Adda", True),
    ("NumberOfEmployees", 51, True),
    ("string--Loyalty--Tier", "Gold", True),  # strings compare exactly: case matters
    ("integer--Orders", 13, True),
    ("float--Lifetime--Value", 1520.25, True),
    ("boolean--VIP", False, True),
    ("date--Signed--Up", "2024-05-01T08:00:01.000Z", True),
    ("float--Lifetime--Value", 1520.5, False),  # numbers numerically: 1520.5 stored again
    ("NumberOfEmployees", 50.0, False),
    ("date--Signed--Up", "2024-05-01T10:00:00+02:00", False),  # the same instant, written otherwise
    ("Title", "CEO", False),  # a field the target does not map is ignored...
    ("string--Nickname", "Lace", False),  # ...custom ones too
]


def person(i: int) -> dict[str, Any]:
    return record(
        "customers",
        email=f"p{i}@example.com",
        first_name="Ada",
        employees=50,
        tier="gold",
        orders=12,
        lifetime_value=1520.5,
        vip=True,
        signed_up="2024-05-01T08:00:00Z",
    )


def edit_by_hand(sandbox: Sandbox, email: str, key: str, value: Any) -> None:
    contact: dict[str, Any] = {"Email": email}
    if "--" in key:
        contact["custom"] = {key: value}
    else:
        contact[key] = value
    by_hand(sandbox, "POST", "contact", body={"contact": contact})


def updated_at(sandbox: Sandbox) -> dict[str, str]:
    [account] = sandbox.dump()["accounts"]
    return {contact["Email"]: contact["updated_at"] for contact in account["contacts"]}


@pytest.mark.parametrize(
    "sandbox", [{"bulk_list_assignment": "on"}, {"bulk_list_assignment": "off"}], indirect=True
)
def test_only_contacts_whose_mapped_values_differ_are_sent_again(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    messages = [schema("customers", PROFILE_SCHEMA), *(person(i) for i in range(len(HAND_EDITS) + 3))]
    config = target_config(sandbox, field_mapping=MAPPING)
    assert run_target(config, messages).code == 0
    sandbox.reset_stats()

    unchanged = run_target(config, messages)

    assert unchanged.code == 0, unchanged.stderr
    assert sandbox.stats()["by_endpoint"].keys() == {
        "GET /v1/account",
        "GET /v1/lists",
        "GET /v1/list/{list_id}/contacts",
        "GET /v1/contacts/custom_fields",  # the field types checked before any write
    }  # reads only: every contact, with every field type, is stored as it would be sent
    assert unchanged.report["unchanged"] == len(messages) - 1
    assert unchanged.report["segments"]["customers"]["unchanged"] == len(messages) - 1
    for i, (key, value, _sent) in enumerate(HAND_EDITS):
        edit_by_hand(sandbox, f"p{i}@example.com", key, value)
    before = updated_at(sandbox)
    sandbox.reset_stats()

    rerun = run_target(config, messages)

    assert rerun.code == 0, rerun.stderr
    after = updated_at(sandbox)
    sent = {email for email in after if after[email] != before[email]}
    assert sent == {f"p{i}@example.com" for i, (_k, _v, again) in enumerate(HAND_EDITS) if again}
    assert rerun.report["segments"]["customers"]["upserted"] == len(sent)
    assert requests_to(sandbox.stats(), "POST /v1/contacts") == 1  # the changed ones, in one bulk
    ada = sandbox.contact("p0@example.com")
    assert ada is not None
    assert ada["FirstName"] == "Ada"  # the source's value is back
    assert custom_fields(sandbox.contact("p6@example.com"))["Signed Up"] == (
        "2024-05-01T08:00:00.000Z",
        "date",
    )


@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off"}], indirect=True)
def test_an_unchanged_contact_joining_another_list_costs_only_the_membership(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(sandbox, list_assignment="per_contact")
    first = [
        schema("vip", ["email"]),
        record("vip", email="a@example.com"),
        record("vip", email="b@example.com"),
    ]
    assert run_target(config, first).code == 0
    sandbox.reset_stats()

    run = run_target(config, [*first, schema("gold", ["email"]), record("gold", email="a@example.com")])

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"vip": ["a@example.com", "b@example.com"], "gold": ["a@example.com"]}
    stats = sandbox.stats()
    assert requests_to(stats, "POST /v1/list/{list_id}/contact/{contact}") == 1
    assert requests_to(stats, "POST /v1/contact") + requests_to(stats, "POST /v1/contacts") == 0


def test_a_contact_on_no_list_read_is_sent(sandbox: Sandbox, run_target: RunTarget) -> None:
    by_hand(sandbox, "POST", "contact", body={"contact": {"Email": "a@example.com", "FirstName": "Ada"}})
    sandbox.reset_stats()

    run = run_target(
        target_config(sandbox),
        [schema("vip", ["email", "first_name"]), record("vip", email="a@example.com", first_name="Ada")],
    )

    assert run.code == 0, run.stderr
    assert requests_to(sandbox.stats(), "POST /v1/contacts") == 1
    assert sandbox.lists() == {"vip": ["a@example.com"]}
