"""Every endpoint of the sandbox answers like the Autopilot API reference says."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox

from .conftest import Api, segment


def test_account_answers_with_the_instance_id(api: Api, sandbox: Sandbox) -> None:
    response = api.get("/account")
    assert response.status_code == 200
    assert response.json()["instanceId"] == sandbox.account_id


def test_contact_upsert_creates_then_updates_the_same_contact(api: Api, sandbox: Sandbox) -> None:
    first = api.upsert(Email="ada@example.com", FirstName="Ada", Company="Engines")
    second = api.upsert(Email="ada@example.com", LastName="Lovelace")
    assert first == second
    assert first.startswith("person_")
    stored = sandbox.contact("ada@example.com")
    assert stored is not None
    # A field sent again is overwritten; fields not sent keep their value.
    assert (stored["FirstName"], stored["LastName"], stored["Company"]) == ("Ada", "Lovelace", "Engines")


def test_email_matching_ignores_case(api: Api) -> None:
    first = api.upsert(Email="Grace@Example.com")
    assert api.upsert(Email="grace@example.com") == first
    assert api.get(f"/contact/{segment('GRACE@example.com')}").json()["contact_id"] == first


def test_get_contact_has_the_real_api_shape(api: Api) -> None:
    list_id = api.new_list("Members")
    contact_id = api.upsert(
        Email="a@example.com",
        FirstName="A",
        NumberOfEmployees=12,
        _autopilot_list=list_id,
        custom={
            "string--Loyalty--Tier": "gold",
            "integer--Orders": 3,
            "date--Joined": "2024-05-01T00:00:00.000Z",
        },
    )
    by_id = api.get(f"/contact/{contact_id}").json()
    assert by_id == api.get("/contact/a%40example.com").json()
    assert by_id["contact_id"] == contact_id
    assert (by_id["Email"], by_id["FirstName"], by_id["NumberOfEmployees"]) == ("a@example.com", "A", 12)
    assert by_id["lists"] == [list_id]
    assert by_id["unsubscribed"] is False
    assert by_id["custom_fields"] == [
        {"kind": "Loyalty Tier", "value": "gold", "fieldType": "string"},
        {"kind": "Orders", "value": 3, "fieldType": "integer"},
        {"kind": "Joined", "value": "2024-05-01T00:00:00.000Z", "fieldType": "date"},
    ]
    assert by_id["created_at"].endswith("Z")
    assert by_id["updated_at"].endswith("Z")


@pytest.mark.parametrize("email", ["a+tag@example.com", "a/b@example.com", "100%@example.com", "o'neil@x.io"])
def test_encoded_emails_round_trip_through_paths(api: Api, email: str) -> None:
    list_id = api.new_list("Odd")
    contact_id = api.upsert(Email=email)
    assert api.get(f"/contact/{segment(email)}").json()["Email"] == email
    assert api.post(f"/list/{list_id}/contact/{segment(email)}").status_code == 200
    assert api.get(f"/list/{list_id}/contact/{segment(email)}").status_code == 200
    assert api.get(f"/list/{list_id}/contacts").json()["contacts"][0]["contact_id"] == contact_id


def test_an_encoded_slash_is_not_a_path_separator(api: Api) -> None:
    api.upsert(Email="a/b@x.com")
    assert api.get("/contact/a%2Fb%40x.com").status_code == 200
    assert api.get("/contact/a/b@x.com").status_code == 404


def test_bulk_upsert_answers_ids_and_the_email_map(api: Api) -> None:
    existing = api.upsert(Email="old@example.com")
    contacts = [{"Email": "old@example.com", "FirstName": "Old"}, {"Email": "new@example.com"}]
    body = api.post("/contacts", json={"contacts": contacts}).json()
    assert body["contact_ids"][0] == existing
    assert body["email_contact_map"] == {
        "old@example.com": existing,
        "new@example.com": body["contact_ids"][1],
    }


def test_bulk_upsert_takes_100_and_refuses_101(api: Api, sandbox: Sandbox) -> None:
    batch = [{"Email": f"p{i}@example.com"} for i in range(101)]
    refused = api.post("/contacts", json={"contacts": batch})
    assert refused.status_code == 400
    assert "100" in refused.json()["message"]
    assert api.post("/contacts", json={"contacts": batch[:100]}).status_code == 200
    assert len(sandbox.dump()["accounts"][0]["contacts"]) == 100


def test_delete_contact_removes_it_and_its_memberships(api: Api, sandbox: Sandbox) -> None:
    list_id = api.new_list("L")
    api.upsert(Email="gone@example.com", _autopilot_list=list_id)
    assert api.delete("/contact/gone%40example.com").status_code == 200
    assert api.get("/contact/gone%40example.com").status_code == 404
    assert sandbox.lists() == {"L": []}


def test_unsubscribe_endpoint_and_field(api: Api, sandbox: Sandbox) -> None:
    api.upsert(Email="u@example.com")
    assert api.post("/contact/u%40example.com/unsubscribe").status_code == 200
    assert (sandbox.contact("u@example.com") or {})["unsubscribed"] is True
    api.upsert(Email="v@example.com", unsubscribed=True, notify=False)
    assert (sandbox.contact("v@example.com") or {})["unsubscribed"] is True


def test_new_email_changes_the_address_of_the_contact(api: Api, sandbox: Sandbox) -> None:
    contact_id = api.upsert(Email="before@example.com")
    assert api.upsert(Email="before@example.com", _NewEmail="after@example.com") == contact_id
    assert sandbox.contact("before@example.com") is None
    assert (sandbox.contact("after@example.com") or {})["contact_id"] == contact_id


def test_new_email_taken_by_another_contact_is_a_conflict(api: Api) -> None:
    api.upsert(Email="one@example.com")
    api.upsert(Email="two@example.com")
    response = api.post(
        "/contact", json={"contact": {"Email": "one@example.com", "_NewEmail": "two@example.com"}}
    )
    assert response.status_code == 409


def test_autopilot_list_on_a_single_upsert_adds_the_membership(api: Api, sandbox: Sandbox) -> None:
    list_id = api.new_list("VIP")
    api.upsert(Email="vip@example.com", _autopilot_list=list_id, _autopilot_session_id="s-1")
    assert sandbox.lists() == {"VIP": ["vip@example.com"]}


def test_custom_fields_are_listed_with_their_types(api: Api) -> None:
    api.upsert(Email="c@example.com", custom={"float--Score": 1, "boolean--Active": True})
    assert api.get("/contacts/custom_fields").json() == [
        {"name": "Score", "fieldType": "float"},
        {"name": "Active", "fieldType": "boolean"},
    ]


def test_lists_and_list_creation(api: Api) -> None:
    assert api.get("/lists").json() == {"lists": []}
    list_id = api.new_list("Newsletter")
    assert list_id.startswith("contactlist_")
    assert api.get("/lists").json() == {"lists": [{"list_id": list_id, "title": "Newsletter"}]}


def test_membership_add_check_remove(api: Api) -> None:
    list_id = api.new_list("L")
    contact_id = api.upsert(Email="m@example.com")
    path = f"/list/{list_id}/contact/{contact_id}"
    assert api.get(path).status_code == 404
    added = api.post(path)
    assert (added.status_code, added.content) == (200, b"")
    assert api.post(path).json() == {"not_modified": True}
    assert api.get(path).status_code == 200
    assert api.delete(path).status_code == 200
    assert api.get(path).status_code == 404
    assert api.delete(path).json() == {"not_modified": True}


def test_list_members_come_100_a_page_with_bookmarks(api: Api) -> None:
    list_id = api.new_list("Big")
    for start in (0, 100, 200):
        batch = [{"Email": f"p{i:03}@example.com"} for i in range(start, min(start + 100, 250))]
        api.post("/contacts", json={"contacts": batch})
    for i in range(250):
        api.post(f"/list/{list_id}/contact/p{i:03}%40example.com")
    pages = [api.get(f"/list/{list_id}/contacts").json()]
    while "bookmark" in pages[-1]:
        pages.append(api.get(f"/list/{list_id}/contacts/{pages[-1]['bookmark']}").json())
    assert [len(page["contacts"]) for page in pages] == [100, 100, 50]
    assert {page["total_contacts"] for page in pages} == {250}
    assert pages[0]["bookmark"] == pages[0]["contacts"][-1]["contact_id"]
    emails = [contact["Email"] for page in pages for contact in page["contacts"]]
    assert emails == [f"p{i:03}@example.com" for i in range(250)]  # order of joining the list


def test_all_contacts_come_100_a_page(api: Api) -> None:
    api.post("/contacts", json={"contacts": [{"Email": f"c{i}@example.com"} for i in range(100)]})
    api.upsert(Email="last@example.com")
    first = api.get("/contacts").json()
    second = api.get(f"/contacts/{first['bookmark']}").json()
    assert (len(first["contacts"]), len(second["contacts"]), first["total_contacts"]) == (100, 1, 101)
    assert "bookmark" not in second


def test_an_exactly_full_last_page_has_no_bookmark(api: Api) -> None:
    list_id = api.new_list("Full")
    batch = [{"Email": f"f{i}@example.com", "_autopilot_list": list_id} for i in range(100)]
    api.post("/contacts", json={"contacts": batch})
    page = api.get(f"/list/{list_id}/contacts").json()
    assert len(page["contacts"]) == 100
    assert "bookmark" not in page
