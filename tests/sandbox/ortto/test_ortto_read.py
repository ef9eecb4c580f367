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


@pytest.mark.parametrize("switch", ["set-contains", "tag-id", "none"])
def test_tag_filter_switch(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_tag_filter=switch)
    ortto.merged(person("a@example.com", tags=["seg:X"]), person("b@example.com", tags=["seg:Y"]))
    tag_id = next(t["id"] for t in ortto.post("/tags/get", json={}).json() if t["name"] == "seg:X")
    by_name = {"$str::set_contains": {"field_id": "tags", "value": "seg:X"}}
    by_id = {"$id_set_is": {"field_id": "u4s::t", "value": tag_id}}
    accepted = {"set-contains": by_name, "tag-id": by_id}
    for syntax in (by_name, by_id):
        response = ortto.post("/person/get", json={"filter": syntax})
        if accepted.get(switch) is syntax:
            assert [c["fields"]["str::email"] for c in response.json()["contacts"]] == ["a@example.com"]
        else:
            assert response.status_code == 400


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
    assert [p["status"] for p in answer["people"]] == ["subscribed", "not-member"]
    assert ortto.emails(audience_id=audience_id, audience_filter="subscribers") == ["a@example.com"]
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
    tags = {t["name"]: t for t in ortto.post("/tags/get", json={}).json()}
    assert {name: t["count"] for name, t in tags.items()} == {"seg:A": 2, "vip": 1}
    assert [t["name"] for t in ortto.post("/tags/get", json={"q": "VI"}).json()] == ["vip"]
    fields = ortto.get(fields=["str::email", "tags", "u4s::t"])["contacts"][1]["fields"]
    assert fields["tags"] == ["seg:A", "vip"]
    assert fields["u4s::t"] == [tags["seg:A"]["id"], tags["vip"]["id"]]
