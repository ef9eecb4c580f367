"""Tags and audiences: `tags/get`, `audiences/get` and `audience/subscribe`."""

from __future__ import annotations

import hashlib
from typing import Any

from target_autopilot.sandbox.ortto.errors import bad_request
from target_autopilot.sandbox.ortto.fields import EMAIL, EXTERNAL_ID
from target_autopilot.sandbox.ortto.merge import MAX_PEOPLE
from target_autopilot.sandbox.ortto.store import Audience, OrttoAccount, Person

AUDIENCE_PAGE = 40


def tags_list(account: OrttoAccount, instance: str, body: dict[str, Any]) -> list[dict[str, object]]:
    """Every tag whose name contains `q` (ignoring case): person tags, then account tags, as recorded."""
    search = str(body.get("q") or "").lower()
    made_by = {"created_by_id": "0" * 24, "created_by_name": "", "created_by_email": ""}
    people: list[dict[str, object]] = [
        {
            "id": tag.tag_id, "instance_id": instance, "name": tag.name, **made_by,
            "created_at": tag.created_at, "last_used": tag.last_used or tag.created_at,
            "count": len(tag.holders), "subscribers": tag.subscribers, "type": "",
        }
        for tag in account.tags.values()
        if search in tag.name.lower()
    ]  # fmt: skip
    organizations: list[dict[str, object]] = [
        {
            "id": tag.tag_id, "instance_id": instance, "name": tag.name, **made_by,
            "created_at": tag.created_at, "last_used": tag.created_at, "count": tag.count,
            "type": "organization",
        }
        for tag in account.account_tags.values()
        if search in tag.name.lower()
    ]  # fmt: skip
    return people + organizations


def audiences_page(account: OrttoAccount, instance: str, body: dict[str, Any]) -> list[dict[str, object]]:
    """A page of audiences (at most 40) whose name contains `search_term`; `filter` with `with_filter`."""
    limit, offset = body.get("limit", AUDIENCE_PAGE), body.get("offset", 0)
    if not isinstance(limit, int) or not 1 <= limit <= AUDIENCE_PAGE:
        limit = AUDIENCE_PAGE
    if not isinstance(offset, int) or offset < 0:
        raise bad_request('"offset" must be a whole number')
    search = str(body.get("search_term") or "").lower()
    found = [item for item in account.audiences.values() if search in item.name.lower()]
    return [
        _audience_json(account, instance, item, with_filter=body.get("with_filter") is True)
        for item in found[offset : offset + limit]
    ]


def _audience_json(
    account: OrttoAccount, instance: str, audience: Audience, *, with_filter: bool
) -> dict[str, object]:
    """An audience with the keys a recorded one has; its filter is the recorded "Tag is X"."""
    tag = account.tags.get(audience.tag)
    holders = tag.holders if tag is not None else {}
    rule = {
        "label": f"Tag is {audience.tag}",
        "field_id": "u4s::t",
        "timezone": "UTC",
        "value": tag.tag_id if tag else 0,
    }
    stamp = {
        "last_used": audience.created_at,
        "created": audience.created_at,
        "created_by_id": "",
        "created_by_name": "",
    }
    return {
        "id": audience.audience_id, "instance_id": instance, "folder_id": None, "data_source_id": "0" * 24,
        "icon_id": "audiences-illustration-icon", "type": "permanent", "building": False, "ready": True,
        "is_public": False, "sms_is_public": False, "sms_public_name": "", "sms_public_description": "",
        "filter": {"$and": [{"$and": [{"$u4s::is": rule}]}]} if with_filter else None,
        "filter_sha": hashlib.sha1(audience.tag.encode()).hexdigest(), "last_built_at": audience.created_at,  # noqa: S324 - a label
        "new_filter": None, "new_filter_sha": "", **stamp, "edited_at": audience.created_at,
        "name": audience.name, "public_name": "", "public_description": "", "template_id": "0" * 24,
        "exit_selection": "", "new_exit_criteria_filter": None, "ds_destinations": None, "sms_opted_in": 0,
        "subscribers": sum(1 for pid in holders if audience.subscribed.get(pid)), "members": len(holders),
        "added_last_30_days": 0, "engagement": 0, "revenue": 0, "is_cold": False,
    }  # fmt: skip


def subscribe(account: OrttoAccount, body: dict[str, Any]) -> dict[str, object]:
    """Change members' opt-in to an audience; a non-member's answer echoes the request, unchanged."""
    audience = account.audiences.get(str(body.get("audience_id")))
    if audience is None:
        raise bad_request(f"Audience {body.get('audience_id')} not found")
    people = body.get("people")
    if not isinstance(people, list) or not 1 <= len(people) <= MAX_PEOPLE:
        raise bad_request(f'"people" must be an array of 1 to {MAX_PEOPLE} people')
    results: list[dict[str, object]] = []
    for item in people:
        if not isinstance(item, dict) or not isinstance(item.get("subscribed", True), bool):
            raise bad_request('each person is {"email"|"person_id"|"external_id", "subscribed"}')
        person, how = _identify(account, item)
        if person is None:
            results.append({"person_status": "not-found", "status": "ignored"})
            continue
        subscribed = item.get("subscribed", True)
        # Recorded: a non-member gets the requested status echoed, and nothing changes.
        if audience.tag in person.tags:
            audience.subscribed[person.person_id] = subscribed
        result: dict[str, object] = {
            "person_status": how,
            "status": "subscribed" if subscribed else "unsubscribed",
        }
        if how != "by-id":  # recorded: an answer by id does not repeat the id
            result["person_id"] = person.person_id
        results.append(result)
    account.add_audience(audience)
    return {"audience_id": audience.audience_id, "people": results}


def _identify(account: OrttoAccount, item: dict[str, Any]) -> tuple[Person | None, str]:
    if item.get("person_id"):
        return account.people.get(str(item["person_id"])), "by-id"
    if item.get("email"):
        return account.find(EMAIL, item["email"]), "merged"
    if item.get("external_id"):
        return account.find(EXTERNAL_ID, item["external_id"]), "merged"
    raise bad_request('each person needs "email", "person_id" or "external_id"')
