"""person/get (filters, tags, audiences, offset and cursor paging), custom fields, tags, audiences."""

from __future__ import annotations

import pytest

from .conftest import Ortto, person


def test_paging_by_offset_and_by_cursor(ortto: Ortto) -> None:
    ortto.merged(*[person(f"p{i:03}@example.com") for i in range(100)])
    ortto.merged(*[person(f"p{i:03}@example.com") for i in range(100, 120)])
    first = ortto.get(limit=50, fields=["str::email"])
    assert (len(first["contacts"]), first["has_more"], first["next_offset"]) == (50, True, 50)
    assert first["meta"]["total_matches"] == 120
    by_offset = [c["fields"]["str::email"] for c in ortto.get(limit=500, offset=100)["contacts"]]
    assert by_offset == [f"p{i:03}@example.com" for i in range(100, 120)]
    seen, cursor = [], None
    while True:
        page = ortto.get(limit=45, **({"cursor_id": cursor} if cursor else {}))
        seen += [c["fields"]["str::email"] for c in page["contacts"]]
        if not page["has_more"]:
            break
        cursor = page["cursor_id"]
    assert seen == [f"p{i:03}@example.com" for i in range(120)]
    assert len(ortto.get(limit=501)["contacts"]) == 50  # out of range: the default
    bad = ortto.post("/person/get", json={"cursor_id": "nope"})
    assert bad.status_code == 400
    assert "cannot unmarshal into an ID" in bad.json()["error"]


def test_nothing_matched_is_null(ortto: Ortto) -> None:
    assert ortto.get()["contacts"] is None


def test_filters(ortto: Ortto) -> None:
    ortto.merged(
        person("a@example.com", **{"str::first": "Ann"}),
        person("b@example.com", **{"str::first": "Bob", "str::last": "B"}),
        person("c@example.com"),
    )
    is_bob = {"$str::is": {"field_id": "str::first", "value": "Bob"}}
    has_last = {"$has_any_value": {"field_id": "str::last"}}
    no_first = {"$has_no_value": {"field_id": "str::first"}}
    assert ortto.emails(filter=is_bob) == ["b@example.com"]
    assert ortto.emails(filter={"$and": [is_bob, has_last]}) == ["b@example.com"]
    assert ortto.emails(filter={"$or": [is_bob, no_first]}) == ["b@example.com", "c@example.com"]
    assert ortto.emails(filter={"$str::is": {"field_id": "str::email", "value": "A@example.com"}}) == [
        "a@example.com"
    ]
    assert ortto.post("/person/get", json={"filter": {"$nope": {"field_id": "x"}}}).status_code == 400


TAG_SWITCHES = ["u4s-is", "set-contains", "tag-id", "none", "ignored"]


@pytest.mark.parametrize("switch", TAG_SWITCHES)
def test_tag_filter_switch(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_tag_filter=switch)
    ortto.merged(person("a@example.com", tags=["seg:X"]), person("b@example.com", tags=["seg:Y"]))
    tag_id = next(t["id"] for t in ortto.post("/tags/get", json={}).json() if t["name"] == "seg:X")
    recorded = {"$u4s::is": {"field_id": "u4s::t", "value": tag_id}}
    by_name = {"$str::set_contains": {"field_id": "tags", "value": "seg:X"}}
    by_id = {"$id_set_is": {"field_id": "u4s::t", "value": tag_id}}
    accepted = {"u4s-is": recorded, "set-contains": by_name, "tag-id": by_id, "ignored": recorded}
    for syntax in (recorded, by_name, by_id):
        response = ortto.post("/person/get", json={"filter": syntax})
        if accepted.get(switch) is not syntax:
            assert response.status_code == 400
            assert "Unknown operation" in response.json()["error"]
        elif switch == "ignored":
            assert ortto.emails(filter=syntax) == ["a@example.com", "b@example.com"]
        else:
            assert ortto.emails(filter=syntax) == ["a@example.com"]
            assert ortto.emails(filter={"$and": [{"$and": [syntax]}]}) == ["a@example.com"]


def test_tag_filter_compares_integer_person_tag_ids(ortto: Ortto) -> None:
    ortto.merged(person("a@example.com", tags=["seg:X"]))
    tags = ortto.post("/tags/get", json={}).json()
    assert {(t["name"], t["id"], t["type"]) for t in tags} == {
        ("seg:X", 1, ""),
        ("My organization", 1, "organization"),
    }
    assert ortto.emails(filter={"$u4s::is": {"field_id": "u4s::t", "value": "1"}}) == []
    assert ortto.emails(filter={"$u4s::is": {"field_id": "u4s::t", "value": 2}}) == []
    assert ortto.emails(filter={"$u4s::is": {"field_id": "u4s::t", "value": 1}}) == ["a@example.com"]


def test_unknown_field_and_operator_are_the_recorded_400s(ortto: Ortto) -> None:
    ortto.merged(person("a@example.com", tags=["seg:X"]))
    for body in (
        {"fields": ["str::email", "tags"]},
        {"filter": {"$str::is": {"field_id": "tags", "value": "x"}}},
    ):
        answer = ortto.post("/person/get", json=body)
        assert answer.status_code == 400
        assert answer.json()["error"].endswith(
            "failed to validate field tags in schema: tags: Object not found"
        )
    answer = ortto.post("/person/get", json={"filter": {"$int::gt": {"field_id": "str::first", "value": 5}}})
    assert answer.status_code == 400
    assert 'Unknown operation $int::gt: {"field_id":"str::first","value":5}' in answer.json()["error"]


def test_unset_fields_are_left_out_and_the_end_of_pages_is_recorded(ortto: Ortto) -> None:
    ortto.merged(person("a@example.com"), person("b@example.com", tags=["seg:X"], **{"str::first": "B"}))
    contacts = ortto.get(fields=["str::email", "str::first", "u4s::t"])["contacts"]
    assert [c["fields"] for c in contacts] == [
        {"str::email": "a@example.com"},
        {"str::email": "b@example.com", "str::first": "B", "u4s::t": [1]},
    ]
    assert ortto.get(offset=2) == {
        "contacts": None,
        "meta": {"total_contacts": 0, "total_organizations": 0, "total_matches": 0, "total_subscribers": 0},
        "offset": 0, "next_offset": 0, "cursor_id": "000000000000000000000000", "has_more": False,
    }  # fmt: skip


def test_audiences_list_their_tag_holders_and_subscribe(ortto: Ortto) -> None:
    audience_id = ortto.sandbox.create_audience("Segment X", "seg:X")
    ortto.merged(person("a@example.com", tags=["seg:X"]), person("b@example.com"))
    assert ortto.emails(audience_id=audience_id) == ["a@example.com"]
    answer = ortto.request(
        "PUT",
        "/audience/subscribe",
        json={
            "audience_id": audience_id,
            "people": [{"email": "a@example.com", "subscribed": True}, {"email": "b@example.com"}],
        },
    ).json()
    assert [p["status"] for p in answer["people"]] == ["subscribed", "subscribed"]  # a non-member: echoed
    assert ortto.emails(audience_id=audience_id, audience_filter="subscribers") == ["a@example.com"]
    assert ortto.emails(audience_id=audience_id) == ["a@example.com"]  # and nothing changed
    assert ortto.post("/person/get", json={"audience_id": "0" * 24}).status_code == 400


def test_audiences_get_pages_by_40(ortto: Ortto) -> None:
    for n in range(45):
        ortto.sandbox.create_audience(f"Audience {n:02}", f"t{n}")
    assert len(ortto.post("/audiences/get", json={"limit": 100}).json()) == 40
    rest = ortto.post("/audiences/get", json={"offset": 40}).json()
    assert [a["name"] for a in rest] == [f"Audience {n}" for n in range(40, 45)]
    assert [a["name"] for a in ortto.post("/audiences/get", json={"search_term": "e 07"}).json()] == [
        "Audience 07"
    ]


def test_custom_fields_create_and_get(ortto: Ortto) -> None:
    assert ortto.field("Job Title", "text") == "str:cm:job-title"
    assert ortto.field("Colour", "single_select", values=["red", "blue"]) == "str:cm:colour"
    assert ortto.field("Opted", "bool") == "bol:cm:opted"
    fields = ortto.post("/person/custom-field/get").json()["fields"]
    assert [f["field"]["id"] for f in fields] == ["str:cm:job-title", "str:cm:colour", "bol:cm:opted"]
    assert fields[0]["field"]["liquid_name"] == "people.custom.job-title"
    assert [f["field"].get("dic_items") for f in fields] == [None, ["red", "blue"], None]
    assert ["dic_items" in f["field"] for f in fields] == [False, True, False]
    assert (
        ortto.post("/person/custom-field/create", json={"name": "job title", "type": "text"}).status_code
        == 400
    )
    assert (
        ortto.post("/person/custom-field/create", json={"name": "S", "type": "multi_select"}).status_code
        == 400
    )
    assert ortto.post("/person/custom-field/create", json={"name": "Z", "type": "blob"}).status_code == 400
    results = ortto.merged(
        person("a@example.com", **{"str:cm:colour": "red", "bol:cm:opted": True}),
        person("b@example.com", **{"str:cm:colour": "green"}),
    )
    assert [r["status"] for r in results] == ["created", "invalid"]
    ortto.sandbox.configure(ortto_field_limit=3)
    assert ortto.post("/person/custom-field/create", json={"name": "Four", "type": "text"}).status_code == 400


def test_tags_get_counts_holders_and_searches(ortto: Ortto) -> None:
    ortto.merged(person("a@example.com", tags=["seg:A"]), person("b@example.com", tags=["seg:A", "vip"]))
    ortto.sandbox.add_account_tag("Partners", count=3)
    tags = {(t["name"], t["type"]): t for t in ortto.post("/tags/get", json={}).json()}
    assert {key: (t["id"], t["count"]) for key, t in tags.items()} == {
        ("seg:A", ""): (1, 2),
        ("vip", ""): (2, 1),
        ("My organization", "organization"): (1, 0),
        ("Partners", "organization"): (2, 3),
    }
    recorded = "id instance_id name created_by_id created_by_name created_by_email created_at last_used count"
    assert set(tags["vip", ""]) == {*recorded.split(), "subscribers", "type"}
    assert set(tags["Partners", "organization"]) == {*recorded.split(), "type"}
    assert [t["name"] for t in ortto.post("/tags/get", json={"q": "VI"}).json()] == ["vip"]
    fields = ortto.get(fields=["str::email", "u4s::t"])["contacts"][1]["fields"]
    assert fields["u4s::t"] == [1, 2]
