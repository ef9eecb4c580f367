"""Every error of the reference, with its status and body, and the 400s that catch mapping bugs."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from target_autopilot.sandbox import Sandbox

from .conftest import Api


def test_missing_api_key_is_a_400(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.base_url}/lists", timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "message": "No autopilotapikey header provided."}


def test_wrong_api_key_is_a_401(api: Api) -> None:
    response = api.get("/lists", key="not-a-key")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized", "message": "Provided autopilotapikey not valid."}


@pytest.mark.parametrize("path", ["/contact/nobody%40example.com", "/list/contactlist_nope/contacts"])
def test_unknown_contact_or_list_is_a_404(api: Api, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


def test_unknown_contact_has_the_documented_message(api: Api) -> None:
    response = api.delete("/contact/nobody%40example.com")
    assert response.json() == {"error": "Not Found", "message": "Contact could not be found."}


def test_membership_with_unknown_contact_or_list_is_a_404(api: Api) -> None:
    list_id = api.new_list("L")
    api.upsert(Email="a@example.com")
    assert api.post(f"/list/{list_id}/contact/nobody%40example.com").status_code == 404
    assert api.post("/list/contactlist_nope/contact/a%40example.com").status_code == 404


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_other_methods_are_a_405_with_the_code_shape(api: Api, method: str) -> None:
    response = api.request(method, "/contact", json={"contact": {"Email": "a@example.com"}})
    assert response.status_code == 405
    assert response.json() == {"code": "MethodNotAllowedError", "message": f"{method} is not allowed"}


def test_a_known_path_with_a_wrong_method_is_a_405(api: Api) -> None:
    assert api.delete("/lists").status_code == 405


def test_duplicate_list_name_is_a_409(api: Api) -> None:
    api.new_list("Same")
    response = api.post("/list", json={"name": "Same"})
    assert response.status_code == 409
    assert response.json() == {"error": "Conflict", "message": "A list with this name already exists."}


def test_unknown_path_is_a_json_404(api: Api) -> None:
    response = api.get("/nothing/here")
    assert response.status_code == 404
    assert "does not exist" in response.json()["message"]


def test_unknown_autopilot_list_is_a_404_and_changes_nothing(api: Api, sandbox: Sandbox) -> None:
    response = api.post(
        "/contact", json={"contact": {"Email": "a@example.com", "_autopilot_list": "contactlist_x"}}
    )
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "message": "List could not be found."}
    assert sandbox.contact("a@example.com") is None


@pytest.mark.parametrize(
    ("contact", "named"),
    [
        ({"Email": "a@example.com", "first_name": "A"}, "'first_name'"),
        ({"Email": "a@example.com", "Firstname": "A"}, "'Firstname'"),
        ({"FirstName": "A"}, "Email"),
        ({"Email": 7}, "Email"),
        ({"Email": "a@example.com", "FirstName": 3}, "'FirstName'"),
        ({"Email": "a@example.com", "FirstName": None}, "'FirstName'"),
        ({"Email": "a@example.com", "unsubscribed": "yes"}, "'unsubscribed'"),
        ({"Email": "a@example.com", "notify": 0}, "'notify'"),
        ({"Email": "a@example.com", "custom": {"Tier": "gold"}}, "'Tier'"),
        ({"Email": "a@example.com", "custom": {"text--Tier": "gold"}}, "'text--Tier'"),
        ({"Email": "a@example.com", "custom": {"integer--Orders": True}}, "'Orders'"),
        ({"Email": "a@example.com", "custom": {"integer--Orders": 1.5}}, "'Orders'"),
        ({"Email": "a@example.com", "custom": {"float--Score": "1.5"}}, "'Score'"),
        ({"Email": "a@example.com", "custom": {"boolean--Active": 1}}, "'Active'"),
        ({"Email": "a@example.com", "custom": {"date--Joined": "last tuesday"}}, "'Joined'"),
        ({"Email": "a@example.com", "custom": {"string--Tier": 5}}, "'Tier'"),
        ({"Email": "a@example.com", "custom": ["string--Tier"]}, "'custom'"),
    ],
)
def test_bad_contacts_are_a_400_naming_the_field(
    api: Api, sandbox: Sandbox, contact: dict[str, Any], named: str
) -> None:
    response = api.post("/contact", json={"contact": contact})
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert named in response.json()["message"]
    assert sandbox.dump()["accounts"][0]["contacts"] == []


def test_a_custom_field_keeps_its_type(api: Api) -> None:
    api.upsert(Email="a@example.com", custom={"integer--Orders": 1})
    response = api.post(
        "/contact", json={"contact": {"Email": "b@example.com", "custom": {"string--Orders": "1"}}}
    )
    assert response.status_code == 400
    assert "'Orders'" in response.json()["message"]


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"contacts": []}'])
def test_a_body_without_the_contact_key_is_a_400(api: Api, body: bytes) -> None:
    response = api.post("/contact", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_a_list_needs_a_name(api: Api) -> None:
    assert api.post("/list", json={"name": ""}).status_code == 400
    assert api.post("/list", json={"title": "x"}).status_code == 400
