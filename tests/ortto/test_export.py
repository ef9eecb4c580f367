"""An export to Ortto: segments as tags, people merged once with every tag, custom fields created."""

from __future__ import annotations

import re

import pytest
import requests

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import custom_fields, merges, ortto_config
from tests.target.support import RunTarget, record, schema

SCHEMA = {
    "email": {"type": ["string", "null"]},
    "first_name": {"type": ["string", "null"]},
    "last_name": {"type": ["string", "null"]},
    "company": {"type": ["string", "null"]},
    "city": {"type": ["string", "null"]},
    "tier": {"type": ["string", "null"]},
    "orders": {"type": ["integer", "null"]},
    "ltv": {"type": ["number", "null"]},
    "vip": {"type": ["boolean", "null"]},
    "joined": {"type": ["string", "null"], "format": "date-time"},
}
MAPPING = {
    "Company": "company",
    "MailingCity": "city",
    "Loyalty Tier": "tier",
    "integer--Orders": "orders",
    "Lifetime Value": "ltv",
    "Vip": "vip",
    "Joined": "joined",
}


def test_every_type_goes_to_its_field_created_before_the_first_merge(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    ada = record(
        "vip", email=" Ada@Example.com ", first_name="Ada", last_name="Lovelace", company="Engines",
        city="London", tier="Gold", orders=3, ltv=1234.567, vip=True, joined="2024-01-02T03:04:05Z",
    )  # fmt: skip
    run = run_target(ortto_config(sandbox, field_mapping=MAPPING), [schema("vip", SCHEMA), ada])

    assert run.code == 0, run.stderr
    assert custom_fields(sandbox) == {
        "str:cm:company": "text",
        "str:cm:loyalty-tier": "text",
        "int:cm:orders": "integer",
        "int:cm:lifetime-value": "decimal",
        "bol:cm:vip": "bool",
        "tme:cm:joined": "time",
    }
    person = sandbox.person("ada@example.com")
    assert person is not None
    assert person["tags"] == ["vip"]
    assert {key: value for key, value in person["fields"].items() if not key.startswith("bol::")} == {
        "str::email": "ada@example.com",
        "str::first": "Ada",
        "str::last": "Lovelace",
        "geo::city": {"name": "London"},
        "str:cm:company": "Engines",
        "str:cm:loyalty-tier": "Gold",
        "int:cm:orders": 3,
        "int:cm:lifetime-value": 1234567,
        "bol:cm:vip": True,
        "tme:cm:joined": "2024-01-02T03:04:05.000Z",
    }
    endpoints = run.report["requests"]["by_endpoint"]
    assert endpoints["POST /person/custom-field/create"] == 6
    assert endpoints["POST /person/merge"] == 1


def test_a_person_in_several_segments_is_merged_once_with_every_tag(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    messages = [schema("vip", ["email"]), schema("churn", ["email"])]
    messages += [record("vip", email=f"p{i}@example.com") for i in range(150)]
    messages += [record("churn", email=f"p{i}@example.com") for i in range(100, 250)]

    run = run_target(ortto_config(sandbox, segments={"churn": "Churn risk"}), messages)

    assert run.code == 0, run.stderr
    tags = sandbox.tags()
    assert len(tags["vip"]) == 150
    assert len(tags["Churn risk"]) == 150
    assert len(sandbox.people()) == 250
    assert merges(sandbox.stats()) == {"200": 3}  # 250 people, 100 a request
    assert run.report["segments"]["vip"]["memberships_added"] == 150
    assert run.report["upserted"] == 250
    # In Ortto's words: tags and their holders, created once the run has created them; no list.
    assert (run.report["api"], run.report["list_assignment"]) == ("ortto", None)
    assert {title: s["plan"]["tag"] for title, s in run.report["segments"].items()} == {
        "vip": "created",
        "Churn risk": "created",
    }
    assert (
        "Segment 'vip': 150 records, 150 profiles, 150 upserted, 0 unchanged, 150 tagged, 0 already tagged"
        in (run.stderr)
    )
    assert "The stream 'vip' is not named in `segments`: its records go to a tag named 'vip'" in run.stderr
    assert not re.search(r"\blists?\b|members", run.stderr.split("Reader 'target-autopilot' completed", 1)[1])


def test_consent_is_never_sent_so_an_unsubscribed_person_stays_unsubscribed(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    answer = requests.post(
        f"{sandbox.base_url}/person/merge",
        json={"people": [{"fields": {"str::email": "gone@example.com", "bol::p": False}}]},
        headers={"X-Api-Key": sandbox.api_key},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    run = run_target(
        ortto_config(sandbox), [schema("vip", ["email"]), record("vip", email="gone@example.com")]
    )

    assert run.code == 0, run.stderr
    person = sandbox.person("gone@example.com")
    assert person is not None
    assert person["fields"]["bol::p"] is False
    assert person["tags"] == ["vip"]


def test_the_profile_limit_stops_before_any_write(sandbox: Sandbox, run_target: RunTarget) -> None:
    messages = [schema("vip", ["email"])] + [record("vip", email=f"p{i}@example.com") for i in range(5)]

    run = run_target(ortto_config(sandbox, max_profiles=4), messages)

    assert run.code != 0
    assert "more than max_profiles = 4" in run.stderr
    assert sandbox.stats()["requests_total"] == 0
    assert run.states == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"list_assignment": "bulk"}, "list_assignment is a setting of api: classic only"),
        ({"notify": False}, "notify is a setting of api: classic only"),
        ({"field_mapping": {"unsubscribed": "email"}}, "never sends consent"),
    ],
    ids=["list_assignment", "notify", "unsubscribed"],
)
def test_a_classic_only_setting_is_refused_for_ortto(
    sandbox: Sandbox, run_target: RunTarget, settings: dict[str, object], message: str
) -> None:
    run = run_target(ortto_config(sandbox, **settings), [schema("vip", ["email"])])

    assert run.code != 0
    assert message in run.stderr
    assert sandbox.stats()["requests_total"] == 0


def test_the_classic_default_of_a_classic_only_setting_is_accepted(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    # Meltano passes every setting that has a value in meltano.yml, list_assignment: auto included.
    config = ortto_config(sandbox, list_assignment="auto")
    run = run_target(config, [schema("vip", ["email"]), record("vip", email="a@example.com")])

    assert run.code == 0, run.stderr
    assert sandbox.tags() == {"vip": ["a@example.com"]}


def test_a_date_into_an_existing_day_field_is_sent_as_its_day(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """A `date` field (id `dtz:…`, made in Ortto's app) takes {year, month, day, timezone}, not a moment."""
    made = requests.post(
        f"{sandbox.base_url}/person/custom-field/create",
        headers={"X-Api-Key": sandbox.api_key},
        json={"name": "Birthday", "type": "date", "track_changes": False},
        timeout=10,
    )
    assert made.status_code == 200, made.text
    config = ortto_config(sandbox, field_mapping={"date--Birthday": "born"})
    born = record("vip", email="ada@example.com", born="1815-12-10T00:00:00Z")

    run = run_target(config, [schema("vip", ["email", "born"]), born])

    assert run.code == 0, run.stderr
    assert run.rejected == []
    person = sandbox.person("ada@example.com")
    assert person is not None
    assert person["fields"]["dtz:cm:birthday"] == {"year": 1815, "month": 12, "day": 10, "timezone": "UTC"}
