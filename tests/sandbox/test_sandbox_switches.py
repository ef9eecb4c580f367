"""Each switch for an "open" point of the reference, in both positions, and changed at run time."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox

from .conftest import Api

ON, OFF = {"bulk_list_assignment": "on"}, {"bulk_list_assignment": "off"}


@pytest.mark.parametrize(
    ("sandbox", "members"), [(ON, ["a@example.com", "b@example.com"]), (OFF, [])], indirect=["sandbox"]
)
def test_bulk_list_assignment(api: Api, sandbox: Sandbox, members: list[str]) -> None:
    list_id = api.new_list("L")
    batch = [{"Email": email, "_autopilot_list": list_id} for email in ("a@example.com", "b@example.com")]
    response = api.post("/contacts", json={"contacts": batch})
    assert response.status_code == 200
    assert len(response.json()["contact_ids"]) == 2
    assert sandbox.lists() == {"L": members}


@pytest.mark.parametrize("sandbox", [OFF], indirect=True)
def test_bulk_list_assignment_off_still_honours_single_upserts(api: Api, sandbox: Sandbox) -> None:
    list_id = api.new_list("L")
    api.upsert(Email="a@example.com", _autopilot_list=list_id)
    assert sandbox.lists() == {"L": ["a@example.com"]}


@pytest.mark.parametrize("sandbox", [{"duplicate_list_names": "allow"}], indirect=True)
def test_duplicate_list_names_allowed(api: Api, sandbox: Sandbox) -> None:
    first, second = api.new_list("Same"), api.new_list("Same")
    assert first != second
    assert sandbox.list_titles() == ["Same", "Same"]


def test_duplicate_list_names_conflict_is_the_default(api: Api, sandbox: Sandbox) -> None:
    api.new_list("Same")
    assert api.post("/list", json={"name": "Same"}).status_code == 409
    assert sandbox.list_titles() == ["Same"]


@pytest.mark.parametrize("sandbox", [{"custom_fields": "must-exist"}], indirect=True)
def test_custom_fields_must_exist(api: Api, sandbox: Sandbox) -> None:
    refused = api.post(
        "/contact", json={"contact": {"Email": "a@example.com", "custom": {"string--Tier": "gold"}}}
    )
    assert refused.status_code == 400
    assert "'Tier'" in refused.json()["message"]
    sandbox.create_custom_field("Tier", "string")
    api.upsert(Email="a@example.com", custom={"string--Tier": "gold"})
    assert api.get("/contacts/custom_fields").json() == [{"name": "Tier", "fieldType": "string"}]


def test_custom_fields_auto_create_is_the_default(api: Api) -> None:
    api.upsert(Email="a@example.com", custom={"string--Tier": "gold"})
    assert api.get("/contacts/custom_fields").json() == [{"name": "Tier", "fieldType": "string"}]


BAD_BATCH = [
    {"Email": "good1@example.com"},
    {"Email": "bad@example.com", "Nickname": "B"},
    {"Email": "good2@example.com"},
]


def test_bulk_partial_failure_reject_batch_is_the_default(api: Api, sandbox: Sandbox) -> None:
    response = api.post("/contacts", json={"contacts": BAD_BATCH})
    assert response.status_code == 400
    message = response.json()["message"]
    assert "index 1" in message
    assert "bad@example.com" in message
    assert "'Nickname'" in message
    assert sandbox.dump()["accounts"][0]["contacts"] == []


@pytest.mark.parametrize("sandbox", [{"bulk_partial_failure": "skip-item"}], indirect=True)
def test_bulk_partial_failure_skip_item(api: Api, sandbox: Sandbox) -> None:
    response = api.post("/contacts", json={"contacts": BAD_BATCH})
    assert response.status_code == 200
    body = response.json()
    assert len(body["contact_ids"]) == 2
    assert sorted(body["email_contact_map"]) == ["good1@example.com", "good2@example.com"]
    assert sandbox.contact("bad@example.com") is None


@pytest.mark.parametrize(
    ("sandbox", "keys"),
    [
        ({"bulk_partial_failure": "skip-item"}, ["contact_ids", "email_contact_map"]),
        ({"bulk_partial_failure": "skip-item", "bulk_contact_map": "off"}, ["contact_ids"]),
    ],
    indirect=["sandbox"],
)
def test_bulk_contact_map(api: Api, sandbox: Sandbox, keys: list[str]) -> None:
    response = api.post("/contacts", json={"contacts": BAD_BATCH})
    assert response.status_code == 200
    body = response.json()
    assert sorted(body) == keys
    assert [api.get(f"/contact/{contact_id}").json()["Email"] for contact_id in body["contact_ids"]] == [
        "good1@example.com",
        "good2@example.com",
    ]


def test_reject_batch_also_undoes_custom_fields_of_earlier_items(api: Api) -> None:
    batch = [
        {"Email": "a@example.com", "custom": {"string--Tier": "gold"}},
        {"Email": "b@example.com", "Bad": 1},
    ]
    assert api.post("/contacts", json={"contacts": batch}).status_code == 400
    assert api.get("/contacts/custom_fields").json() == []


def test_switches_change_at_run_time(api: Api, sandbox: Sandbox) -> None:
    sandbox.configure(duplicate_list_names="allow", bulk_partial_failure="skip-item")
    api.new_list("Same")
    api.new_list("Same")
    assert api.post("/contacts", json={"contacts": BAD_BATCH}).status_code == 200
    assert sandbox.config()["duplicate_list_names"] == "allow"


@pytest.mark.parametrize(
    "sandbox", [{"refuse": ("DELETE /v1/list/{list_id}/contact/{contact}",)}], indirect=True
)
def test_refuse_answers_403_to_the_named_endpoints_only(api: Api, sandbox: Sandbox) -> None:
    list_id = api.new_list("L")
    api.upsert(Email="a@example.com", _autopilot_list=list_id)

    refused = api.delete(f"/list/{list_id}/contact/a@example.com")

    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")
    assert sandbox.lists() == {"L": ["a@example.com"]}
    sandbox.configure(refuse=[])
    assert api.delete(f"/list/{list_id}/contact/a@example.com").status_code == 200
