"""The export end to end: the real CLI against the sandbox, checked by what landed in Autopilot."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import (
    RunTarget,
    custom_fields,
    record,
    requests_to,
    schema,
    state,
    target_config,
    writes,
)

PROFILE_SCHEMA = {
    "email": {"type": ["string", "null"]},
    "first_name": {"type": ["string", "null"]},
    "last_name": {"type": ["string", "null"]},
    "tier": {"type": ["string", "null"]},
    "orders": {"type": ["integer", "null"]},
    "lifetime_value": {"type": ["number", "null"]},
    "vip": {"type": ["boolean", "null"]},
    "signed_up": {"type": ["string", "null"], "format": "date-time"},
}
MAPPING = {
    "Loyalty Tier": "tier",
    "Orders": "orders",
    "Lifetime Value": "lifetime_value",
    "VIP": "vip",
    "Signed Up": "signed_up",
}


def segments_input() -> list[dict[str, Any]]:
    """Two segments sharing one person (written in another case), plus three bad rows."""
    return [
        schema("high_value", PROFILE_SCHEMA),
        record(
            "high_value",
            email="ada@example.com",
            first_name="Ada",
            last_name="Lovelace",
            tier="gold",
            orders=12,
            lifetime_value=1520.5,
            vip=True,
            signed_up="2024-05-01T10:00:00+02:00",
        ),
        record("high_value", email=" Grace@Example.COM ", first_name="Grace", last_name="", tier="silver"),
        record("high_value", email=None, first_name="Nobody"),
        state({"bookmarks": {"high_value": 1}}),
        schema("churn_risk", PROFILE_SCHEMA),
        record("churn_risk", email="grace@example.com", first_name="Grace B.", orders=3),
        record("churn_risk", email="alan@example.org", first_name="Alan", last_name="Turing"),
        record("churn_risk", email="not-an-email", first_name="Broken"),
        record("churn_risk", email="kurt@example.org", orders="many"),
        state({"bookmarks": {"high_value": 1, "churn_risk": 4}}),
    ]


@pytest.mark.parametrize(
    "sandbox", [{"bulk_list_assignment": "on"}, {"bulk_list_assignment": "off"}], indirect=True
)
def test_segments_land_as_lists_with_members_and_fields(sandbox: Sandbox, run_target: RunTarget) -> None:
    config = target_config(sandbox, segments={"high_value": "High value customers"}, field_mapping=MAPPING)
    run = run_target(config, segments_input())

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {
        "High value customers": ["ada@example.com", "grace@example.com"],
        "churn_risk": ["alan@example.org", "grace@example.com"],
    }
    ada = sandbox.contact("ada@example.com")
    assert ada is not None
    assert (ada["FirstName"], ada["LastName"]) == ("Ada", "Lovelace")
    assert custom_fields(ada) == {
        "Loyalty Tier": ("gold", "string"),
        "Orders": (12, "integer"),
        "Lifetime Value": (1520.5, "float"),
        "VIP": (True, "boolean"),
        "Signed Up": ("2024-05-01T08:00:00.000Z", "date"),
    }
    grace = sandbox.contact("grace@example.com")
    assert grace is not None
    assert grace["Email"] == "grace@example.com"
    assert grace["FirstName"] == "Grace B."  # the last record wins per field...
    assert custom_fields(grace) == {
        "Loyalty Tier": ("silver", "string"),
        "Orders": (3, "integer"),
    }  # ...merged
    assert "LastName" not in grace  # an empty cell is never sent
    assert {(r["stream"], r["reason"]) for r in run.rejected} == {
        ("high_value", "missing_email"),
        ("churn_risk", "invalid_email"),
        ("churn_risk", "schema_violation"),
    }
    assert run.states == [{"bookmarks": {"high_value": 1, "churn_risk": 4}}]
    expected_mode = "bulk" if sandbox.config()["bulk_list_assignment"] == "on" else "per_contact"
    assert run.report["list_assignment"] == expected_mode
    churn = run.report["segments"]["churn_risk"]
    assert (churn["records"], churn["profiles"], churn["memberships_added"]) == (4, 2, 2)
    assert (run.report["api"], churn["plan"]["list"]) == ("classic", "created")
    assert churn["rejected"] == {"invalid_email": 1, "schema_violation": 1}


def test_a_bad_value_costs_the_value_not_the_person(sandbox: Sandbox, run_target: RunTarget) -> None:
    messages = [
        schema("people", ["email", "orders", "first_name"]),
        record("people", email="ok@example.com", orders="7"),
        record("people", email="bad@example.com", orders="seven", first_name="Kurt"),
    ]
    run = run_target(target_config(sandbox, field_mapping={"integer--Orders": "orders"}), messages)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"people": ["bad@example.com", "ok@example.com"]}
    assert custom_fields(sandbox.contact("ok@example.com")) == {"Orders": (7, "integer")}
    bad = sandbox.contact("bad@example.com")
    assert custom_fields(bad) == {}
    assert bad is not None
    assert bad["FirstName"] == "Kurt"
    [rejected] = run.rejected
    assert rejected["reason"] == "invalid_value"
    assert (rejected["property"], rejected["field"], rejected["value"]) == (
        "orders",
        "integer--Orders",
        "seven",
    )
    assert "'seven' is not a valid whole number" in rejected["message"]
    assert rejected["record"] == {"email": "bad@example.com", "orders": "seven", "first_name": "Kurt"}
    assert (run.report["rejected"], run.report["values_dropped"]) == ({}, 1)


def test_on_invalid_value_reject_record_rejects_the_person(sandbox: Sandbox, run_target: RunTarget) -> None:
    messages = [
        schema("people", ["email", "orders"]),
        record("people", email="ok@example.com", orders="7"),
        record("people", email="bad@example.com", orders="seven"),
    ]
    config = target_config(
        sandbox, field_mapping={"integer--Orders": "orders"}, on_invalid_value="reject_record"
    )
    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"people": ["ok@example.com"]}
    [rejected] = run.rejected
    assert rejected["reason"] == "invalid_value"
    assert "integer--Orders" in rejected["message"]
    assert rejected["record"] == {"email": "bad@example.com", "orders": "seven"}


def test_a_second_run_of_the_same_input_adds_no_membership_and_creates_no_list(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(sandbox, field_mapping=MAPPING)
    first = run_target(config, segments_input())
    assert first.code == 0, first.stderr
    sandbox.reset_stats()

    second = run_target(config, segments_input())

    assert second.code == 0, second.stderr
    stats = sandbox.stats()
    assert requests_to(stats, "POST /v1/list") == 0
    assert requests_to(stats, "POST /v1/list/{list_id}/contact/{contact}") == 0
    assert sorted(sandbox.list_titles()) == ["churn_risk", "high_value"]
    assert second.report["segments"]["churn_risk"]["memberships_present"] == 2
    assert second.report["segments"]["churn_risk"]["memberships_added"] == 0


@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off"}], indirect=True)
def test_per_contact_assignment_costs_one_request_per_membership(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    people = [record("vip", email=f"p{i}@example.com") for i in range(30)]
    run = run_target(
        target_config(sandbox, list_assignment="per_contact"), [schema("vip", ["email"]), *people]
    )

    assert run.code == 0, run.stderr
    assert len(sandbox.lists()["vip"]) == 30
    stats = sandbox.stats()
    assert requests_to(stats, "POST /v1/contact") == 30
    assert requests_to(stats, "POST /v1/contacts") == 0


def test_profile_limit_fail_stops_before_any_request(sandbox: Sandbox, run_target: RunTarget) -> None:
    people = [record("s", email=f"p{i}@example.com") for i in range(5)]
    duplicate = record("s", email="P0@example.com")
    run = run_target(target_config(sandbox, max_profiles=4), [schema("s", ["email"]), *people, duplicate])

    assert run.code != 0
    assert "5 distinct profiles" in run.stderr
    assert "max_profiles = 4" in run.stderr
    assert "on_limit_exceeded" in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.stats()["requests_total"] == 0
    assert run.states == []


def test_profile_limit_truncate_exports_the_first_profiles_and_rejects_the_rest(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    people = [record("s", email=f"p{i}@example.com") for i in range(6)]
    again = record("s", email="p1@example.com", first_name="Again")
    config = target_config(sandbox, max_profiles=4, on_limit_exceeded="truncate")
    run = run_target(config, [schema("s", ["email", "first_name"]), *people, again])

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"s": [f"p{i}@example.com" for i in range(4)]}
    assert (sandbox.contact("p1@example.com") or {})["FirstName"] == "Again"
    assert [(r["reason"], r["record"]["email"]) for r in run.rejected] == [
        ("profile_limit", "p4@example.com"),
        ("profile_limit", "p5@example.com"),
    ]
    assert "profile_limit" in run.stderr


def test_segment_property_names_the_lists(sandbox: Sandbox, run_target: RunTarget) -> None:
    messages = [
        schema("people", {"email": {"type": "string"}, "segments": {"type": ["array", "string", "null"]}}),
        record("people", email="a@example.com", segments=["Churn risk", "VIP"]),
        record("people", email="b@example.com", segments="VIP"),
        record("people", email="c@example.com", segments=[]),
        record("people", email="d@example.com", segments=None),
    ]
    run = run_target(target_config(sandbox, segment_property="segments"), messages)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"Churn risk": ["a@example.com"], "VIP": ["a@example.com", "b@example.com"]}
    assert [r["reason"] for r in run.rejected] == ["missing_segment", "missing_segment"]


@pytest.mark.parametrize(
    "sandbox",
    [
        {"custom_fields": "must-exist", "bulk_partial_failure": "reject-batch"},
        {"custom_fields": "must-exist", "bulk_partial_failure": "skip-item"},
    ],
    indirect=True,
)
def test_one_bad_item_costs_only_itself_not_its_batch(sandbox: Sandbox, run_target: RunTarget) -> None:
    sandbox.create_custom_field("Tier", "string")
    people = [record("s", email=f"p{i:03d}@example.com", tier="gold") for i in range(240)]
    bad = {5, 117, 118, 130, 201}  # one in the first batch (which probes list assignment), two in one
    for i in bad:
        people[i]["record"]["nickname"] = "Lucky"  # Autopilot has no such field: this item is refused
    config = target_config(sandbox, field_mapping={"Tier": "tier", "Nickname": "nickname"})
    messages = [schema("s", ["email", "tier", "nickname"]), *people]
    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    assert len(sandbox.lists()["s"]) == 240 - len(bad)
    assert sorted(line["record"]["email"] for line in run.rejected) == sorted(
        f"p{i:03d}@example.com" for i in bad
    )
    assert {line["reason"] for line in run.rejected} == {"api_rejected"}
    assert all("Nickname" in line["message"] for line in run.rejected)
    assert run.report["segments"]["s"]["upserted"] == 240 - len(bad)
    bulks = sandbox.stats()["by_endpoint"]["POST /v1/contacts"]
    if sandbox.config()["bulk_partial_failure"] == "reject-batch":
        assert bulks == {"400": len(bad), "200": 3}  # each refusal names its item: a resend, never a split
    else:
        assert bulks == {"200": 3}

    again = run_target(config, messages)  # only the refused people are sent: not a systematic refusal

    assert again.code == 0, again.stderr
    assert sorted(line["record"]["email"] for line in again.rejected) == sorted(
        line["record"]["email"] for line in run.rejected
    )


def test_bad_key_fails_in_the_first_request_without_leaking_it(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    secret = "not-the-right-key-8c1f"
    config = {**target_config(sandbox), "api_key": secret}
    run = run_target(config, [schema("s", ["email"]), record("s", email="a@example.com"), state({"b": 1})])

    assert run.code != 0
    assert "401" in run.stderr
    assert "api_key" in run.stderr
    assert secret not in run.stdout + run.stderr + run.report_path.read_text()
    assert "Traceback" not in run.stderr
    assert sandbox.list_titles() == []
    assert writes(sandbox.stats()) == 0
    assert run.states == []


def test_plain_http_to_another_host_is_a_config_error(run_target: RunTarget) -> None:
    config = {"api_key": "k", "api_url": "http://api2.sandboxhq.com/v1"}
    run = run_target(config, [schema("s", ["email"])])

    assert run.code != 0
    assert "http://" in run.stderr
    assert "loopback" in run.stderr


def test_a_stream_without_email_is_named_with_its_properties(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(target_config(sandbox), [schema("s", ["name", "phone"]), record("s", name="x")])

    assert run.code != 0
    assert "'s'" in run.stderr
    assert "name, phone" in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.stats()["requests_total"] == 0
