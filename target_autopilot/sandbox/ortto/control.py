"""The Ortto part of the control API: each account's state for the dump, audiences, suppressions."""

from __future__ import annotations

from typing import Any

from target_autopilot.sandbox.ortto.fields import EMAIL
from target_autopilot.sandbox.ortto.store import Audience, OrttoAccount, new_id, now_iso


def ortto_view(data: OrttoAccount) -> dict[str, object]:
    """People, tags (with holders' emails), account tags, custom fields, audiences, suppressed emails."""
    people = data.people
    return {
        "people": [
            {
                "person_id": person.person_id,
                "fields": dict(person.fields),
                "tags": list(person.tags),
                "created_at": person.created_at,
                "updated_at": person.updated_at,
            }
            for person in people.values()
        ],
        "tags": [
            {
                "tag_id": tag.tag_id,
                "name": tag.name,
                "holders": [str(people[pid].fields.get(EMAIL, "")) for pid in tag.holders],
            }
            for tag in data.tags.values()
        ],
        "account_tags": [
            {"tag_id": tag.tag_id, "name": tag.name, "count": tag.count} for tag in data.account_tags.values()
        ],
        "custom_fields": [custom.to_json() for custom in data.fields.values()],
        "audiences": [
            {"audience_id": item.audience_id, "name": item.name, "tag": item.tag}
            for item in data.audiences.values()
        ],
        "suppressed": sorted(data.suppressed),
    }


def add_audience(data: OrttoAccount, body: dict[str, Any]) -> dict[str, object]:
    """A new audience whose entry filter is "has tag X"."""
    name, tag = body.get("name"), body.get("tag")
    if not isinstance(name, str) or not name or not isinstance(tag, str) or not tag:
        raise ValueError('Send {"name": ..., "tag": ..., "account": 0}.')
    audience = Audience(new_id(), name, tag, now_iso())
    data.add_audience(audience)
    return {"audience_id": audience.audience_id, "name": name, "tag": tag}


def add_suppressed(data: OrttoAccount, body: dict[str, Any]) -> dict[str, object]:
    """An email on the suppression list."""
    email = body.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ValueError('Send {"email": ..., "account": 0}.')
    data.suppress(email)
    return {"suppressed": email.lower()}


def add_account_tag(data: OrttoAccount, body: dict[str, Any]) -> dict[str, object]:
    """An account (organization) tag held by `count` accounts; its id is counted apart from person tags."""
    name, count = body.get("name"), body.get("count", 0)
    if not isinstance(name, str) or not name or not isinstance(count, int) or count < 0:
        raise ValueError('Send {"name": ..., "count": 0, "account": 0}.')
    tag = data.add_account_tag(name, count)
    return {"tag_id": tag.tag_id, "name": tag.name, "count": tag.count}
