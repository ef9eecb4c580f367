"""POST /v1/person/merge: matching, strategies, field types, tags, suppression, the OPEN switches."""

from __future__ import annotations

import re

import pytest

from tests.polling import until

from .conftest import Ortto, person


def test_merge_creates_then_merges_by_email(ortto: Ortto) -> None:
    (created,) = ortto.merged(person("Chris@Example.com", **{"str::first": "Chris"}))
    assert created["status"] == "created"
    assert re.fullmatch(r"[0-9a-f]{24}", created["person_id"])
    (merged,) = ortto.merged(person("chris@example.com", **{"str::last": "Smith"}))
    assert merged == {"person_id": created["person_id"], "status": "merged"}
    stored = ortto.sandbox.person("chris@example.com")
    assert stored is not None
    assert stored["fields"] == {
        "str::email": "chris@example.com", "str::first": "Chris", "str::last": "Smith",
        "bol::p": True, "bol::sp": False,
    }  # fmt: skip


def test_strategies_append_overwrite_and_ignore(ortto: Ortto) -> None:
    ortto.merged(person("a@example.com", **{"str::first": "A", "str::last": "Old"}))
    ortto.merged(person("a@example.com", **{"str::first": "X", "str::postal": "1000"}), merge_strategy=1)
    ortto.merged(person("a@example.com", **{"str::last": None}), merge_strategy=2)
    ortto.merged(person("a@example.com", **{"str::first": "Ignored"}), merge_strategy=3)
    (new,) = ortto.merged(person("b@example.com"), merge_strategy=3)
    stored = ortto.sandbox.person("a@example.com")
    assert stored is not None
    assert {key: stored["fields"].get(key) for key in ("str::first", "str::last", "str::postal")} == {
        "str::first": "A", "str::last": None, "str::postal": "1000",
    }  # fmt: skip
    assert new["status"] == "created"


def test_skip_non_existing_and_merge_by_person_id(ortto: Ortto) -> None:
    assert ortto.merged(person("new@example.com"), skip_non_existing=True) == [{"status": "ignored"}]
    (created,) = ortto.merged(person("p@example.com"))
    item = {"fields": {"str::person_id": created["person_id"], "str::first": "P"}}
    assert ortto.merged(item, merge_by=["str::person_id"]) == [created | {"status": "merged"}]
    assert ortto.merge(item, merge_by=["str::person_id", "str::email"]).status_code == 400


def test_merge_by_fallback_keys_and_find_strategy(ortto: Ortto) -> None:
    (first,) = ortto.merged(person("one@example.com", **{"str::ei": "E1"}))
    by_ei = {"fields": {"str::email": "other@example.com", "str::ei": "E1"}}
    assert ortto.merged(by_ei, merge_by=["str::email", "str::ei"])[0]["person_id"] == first["person_id"]
    # find_strategy 1: the second key only matches people whose first key is empty.
    again = {"fields": {"str::email": "third@example.com", "str::ei": "E1"}}
    result = ortto.merged(again, merge_by=["str::email", "str::ei"], find_strategy=1)
    assert result[0]["status"] == "created"
    assert ortto.merge(by_ei, merge_by=["a", "b", "c", "d"]).status_code == 400


@pytest.mark.parametrize(
    ("value", "status"),
    [(12500, "created"), (12.5, "invalid"), ("12", "invalid"), (True, "invalid")],
)
def test_decimals_are_integers_times_1000(ortto: Ortto, value: object, status: str) -> None:
    field_id = ortto.field("Lifetime Value", "decimal")
    assert field_id == "int:cm:lifetime-value"
    ok = person("ok@example.com")
    results = ortto.merged(ok, person("v@example.com", **{field_id: value}))
    assert results[1]["status"] == status


def test_unknown_fields_and_bad_values_make_a_person_invalid_without_creating_fields(ortto: Ortto) -> None:
    results = ortto.merged(
        person("good@example.com"),
        person("x@example.com", **{"str:cm:nope": "1"}),
        person("not-an-email"),
        person("long@example.com", **{"str::first": "x" * 256}),
        {"fields": {"str::first": "No key"}},
    )
    assert [r["status"] for r in results] == ["created", "invalid", "invalid", "invalid", "invalid"]
    assert "Object not found" in results[1]["error"]
    assert ortto.post("/person/custom-field/get").json() == {"fields": []}


def test_tags_are_created_on_first_use_and_unset(ortto: Ortto) -> None:
    ortto.merged(person("a@example.com", tags=["seg:A", "seg:B"]), person("b@example.com", tags=["seg:A"]))
    ortto.merged({"fields": {"str::email": "a@example.com"}, "unset_tags": ["seg:B", "never-had"]})
    assert ortto.sandbox.tags() == {"seg:A": ["a@example.com", "b@example.com"], "seg:B": []}
    both = {"fields": {"str::email": "a@example.com"}, "tags": ["T"], "unset_tags": ["T"]}
    response = ortto.merge(both)
    assert response.status_code == 400
    assert set(response.json()) >= {"request_id", "code", "error"}


def test_suppressed_emails_are_not_created(ortto: Ortto) -> None:
    ortto.merged(person("kept@example.com"))
    ortto.sandbox.suppress("kept@example.com")
    ortto.sandbox.suppress("gone@example.com")
    results = ortto.merged(
        person("kept@example.com"), person("gone@example.com"), suppression_list_field_id="str::email"
    )
    assert [r["status"] for r in results] == ["merged", "suppressed"]
    alone = ortto.merge(person("gone@example.com"), suppression_list_field_id="str::email")
    assert alone.status_code == 400
    assert alone.json()["details"] == [{"status": "suppressed", "error": "Email is suppressed"}]
    assert ortto.merged(person("gone@example.com"))[0]["status"] == "created"


def test_batch_limits(ortto: Ortto) -> None:
    hundred = [person(f"p{i}@example.com") for i in range(100)]
    assert len(ortto.merged(*hundred)) == 100
    response = ortto.merge(*hundred, person("one-more@example.com"))
    assert response.status_code == 400
    assert "at most 100" in response.json()["error"]
    assert ortto.merge().status_code == 400


@pytest.mark.parametrize("switch", ["per-person", "reject"])
def test_mixed_batch_switch(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_mixed_batch=switch)
    response = ortto.merge(person("ok@example.com"), person("bad@example.com", **{"int:cm:x": 1}))
    if switch == "per-person":
        assert response.status_code == 200
        assert [r["status"] for r in response.json()["people"]] == ["created", "invalid"]
        assert ortto.sandbox.person("ok@example.com") is not None
    else:
        assert response.status_code == 400
        assert [d["status"] for d in response.json()["details"]] == ["valid", "invalid"]
        assert ortto.sandbox.people() == []
    all_bad = ortto.merge(person("bad@example.com", **{"int:cm:x": 1}))
    assert all_bad.status_code == 400
    assert all_bad.json()["error"].startswith("No valid contacts provided")


def test_reject_unaligned_details_name_only_the_refused_people(ortto: Ortto) -> None:
    ortto.sandbox.configure(ortto_mixed_batch="reject-unaligned")
    ortto.sandbox.suppress("new@example.com")
    batch = [
        person("ok@example.com"),
        person("bad@example.com", **{"int:cm:x": 1}),
        person("new@example.com"),
        person("fine@example.com"),
    ]

    response = ortto.merge(*batch, suppression_list_field_id="str::email")

    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith("Invalid contacts provided (")
    assert [d["status"] for d in body["details"]] == ["invalid", "suppressed"]  # no `valid` entries
    assert body["details"][1] == {"status": "suppressed", "error": "Email is suppressed"}
    assert ortto.sandbox.people() == []
    all_bad = ortto.merge(
        person("bad@example.com", **{"int:cm:x": 1}), person("b2@example.com", **{"int:cm:x": 1})
    )
    assert all_bad.status_code == 400
    assert all_bad.json()["error"].startswith("No valid contacts provided")
    assert [d["status"] for d in all_bad.json()["details"]] == ["invalid", "invalid"]


@pytest.mark.parametrize("switch", ["request", "shuffled"])
def test_people_order_switch(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_people_order=switch)
    results = ortto.merged(*[person(f"p{i}@example.com") for i in range(30)])
    stored = [p["person_id"] for p in ortto.sandbox.people()]
    answered = [r["person_id"] for r in results]
    assert sorted(answered) == sorted(stored)
    assert (answered == stored) is (switch == "request")


@pytest.mark.parametrize("mixed", ["reject", "reject-unaligned", "all-invalid"])
def test_shuffled_details_follow_the_seed(ortto: Ortto, mixed: str) -> None:
    ortto.sandbox.configure(ortto_mixed_batch="per-person" if mixed == "all-invalid" else mixed)
    batch = [person(f"bad{i}@example.com", **{f"int:cm:f{i}": 1}) for i in range(6)]  # each its own error
    if mixed != "all-invalid":
        batch = [item for bad in batch for item in (bad, person(f"ok-{bad['fields']['str::email']}"))]

    def details(order: str, seed: int = 7) -> list[dict[str, object]]:
        ortto.sandbox.configure(ortto_people_order=order, seed=seed)
        response = ortto.merge(*batch)
        assert response.status_code == 400, response.text
        return list(response.json()["details"])

    in_request_order = details("request")
    shuffled = details("shuffled")

    assert shuffled != in_request_order
    assert sorted(map(str, shuffled)) == sorted(map(str, in_request_order))
    assert details("shuffled") == shuffled  # the same seed: the same order
    assert details("shuffled", seed=8) != shuffled
    assert ortto.sandbox.people() == []


@pytest.mark.parametrize("switch", ["queued", "applied"])
def test_async_switch(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_async=switch, ortto_async_delay_ms=1500)
    results = ortto.merge(person("later@example.com"), **{"async": True}).json()
    if switch == "queued":
        assert results == {"status": "queued", "people": []}
        assert ortto.sandbox.person("later@example.com") is None
        until(lambda: ortto.sandbox.person("later@example.com"), "the queued merge was applied")
    else:
        assert results["people"][0]["status"] == "created"
        assert ortto.sandbox.person("later@example.com") is not None


def test_a_reset_forgets_the_merges_still_queued(ortto: Ortto) -> None:
    ortto.sandbox.configure(ortto_async="queued", ortto_async_delay_ms=200)
    ortto.merge(person("before@example.com"), **{"async": True})
    ortto.sandbox.reset()
    ortto.sandbox.configure(ortto_async="queued", ortto_async_delay_ms=200)
    ortto.merge(person("after@example.com"), **{"async": True})
    # Queued merges land in the order they were queued: once the later one is in, the earlier would be
    until(lambda: ortto.sandbox.person("after@example.com"), "the merge queued after the reset was applied")
    assert ortto.sandbox.person("before@example.com") is None


@pytest.mark.parametrize("switch", ["sync", "async"])
def test_default_async_switch_decides_what_an_omitted_async_means(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_default_async=switch, ortto_async_delay_ms=1500)
    omitted = ortto.merge(person("later@example.com")).json()
    sent_false = ortto.merged(person("now@example.com"), **{"async": False})

    assert sent_false[0]["status"] == "created"  # an explicit value always wins
    if switch == "async":
        assert omitted == {"status": "queued", "people": []}
        assert ortto.sandbox.person("later@example.com") is None
        until(lambda: ortto.sandbox.person("later@example.com"), "the queued merge was applied")
    else:
        assert omitted["people"][0]["status"] == "created"


@pytest.mark.parametrize("switch", ["str::email", "str::ei"])
def test_default_merge_by_switch_decides_the_key_of_a_merge_that_omits_it(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_default_merge_by=switch)
    first = ortto.merged(person("a@example.com", tags=["T"]))
    again = ortto.merged(person("a@example.com", tags=["U"]))
    explicit = ortto.merged(person("a@example.com"), merge_by=["str::email"])
    keyed = [ortto.merged(person(f"k{i}@example.com", **{"str::ei": "K"}))[0] for i in range(2)]

    holders = [p for p in ortto.sandbox.people() if p["fields"]["str::email"] == "a@example.com"]
    assert explicit[0]["status"] == "merged"
    if switch == "str::ei":  # no External ID: matches nobody, so created again beside the first
        assert [first[0]["status"], again[0]["status"]] == ["created", "created"]
        assert [p["tags"] for p in holders] == [["T"], ["U"]]
        assert keyed[1] == {"person_id": keyed[0]["person_id"], "status": "merged"}  # one External ID
    else:
        assert again == [{"person_id": first[0]["person_id"], "status": "merged"}]
        assert [p["tags"] for p in holders] == [["T", "U"]]
        assert [item["status"] for item in keyed] == ["created", "created"]  # two emails


def test_reject_refuses_a_batch_with_a_new_suppressed_address_and_names_each_person(ortto: Ortto) -> None:
    ortto.sandbox.configure(ortto_mixed_batch="reject")
    ortto.merged(person("old@example.com"))
    for email in ("old@example.com", "new@example.com"):
        ortto.sandbox.suppress(email)
    batch = [person("a@example.com"), person("new@example.com"), person("old@example.com")]

    response = ortto.merge(*batch, suppression_list_field_id="str::email")

    assert response.status_code == 400
    assert [d["status"] for d in response.json()["details"]] == ["valid", "suppressed", "valid"]
    assert [p["fields"]["str::email"] for p in ortto.sandbox.people()] == ["old@example.com"]


def test_get_by_ids_reads_people_keyed_by_id(ortto: Ortto) -> None:
    created = ortto.merged(person("a@example.com", **{"str::first": "A"}), person("b@example.com"))
    ids = [result["person_id"] for result in created]

    answer = ortto.post(
        "/person/get-by-ids", json={"contact_ids": [*ids, "0" * 24], "fields": ["str::email", "str::first"]}
    ).json()

    assert answer == {
        "contacts": {
            ids[0]: {"id": ids[0], "fields": {"str::email": "a@example.com", "str::first": "A"}},
            ids[1]: {"id": ids[1], "fields": {"str::email": "b@example.com"}},  # unset: left out
        }
    }
    assert ortto.post("/person/get-by-ids", json={"contact_ids": "x"}).status_code == 400
