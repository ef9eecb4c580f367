"""`POST /v1/person/get`: filters, audience members, paging by offset or by cursor."""

from __future__ import annotations

from collections.abc import Callable, Collection
from itertools import islice
from typing import Any

from target_autopilot.sandbox.ortto.errors import bad_request
from target_autopilot.sandbox.ortto.merge import HEX_ID
from target_autopilot.sandbox.ortto.store import OrttoAccount, Person, Tag, index_key

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# The tag filter each `ortto_tag_filter` position accepts: operator, field id, what `value` names.
TAG_FILTERS = {"set-contains": ("$str::set_contains", "tags"), "tag-id": ("$id_set_is", "u4s::t")}
AUDIENCE_FILTERS = ("subscribers", "unsubscribed")
Predicate = Callable[[Person], bool]


def get_people(account: OrttoAccount, body: dict[str, Any], tag_filter: str) -> dict[str, object]:
    """The answer to a person/get body."""
    limit = body.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        limit = DEFAULT_LIMIT
    offset = body.get("offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise bad_request('"offset" must be a whole number')
    # Ids, not people, until the page is cut: a page of a tag with many holders copies none of them.
    ids, test, tag = _selector(account, body, tag_filter)
    people = account.people
    if test is not None:
        ids = [pid for pid in ids if test(people[pid])]
    if tag is not None and test is None:
        subscribers = tag.subscribers
    else:
        subscribers = sum(1 for pid in ids if people[pid].fields.get("bol::p"))
    cursor = body.get("cursor_id")
    if cursor:
        if not isinstance(cursor, str) or not HEX_ID.match(cursor):
            raise bad_request("cursor_id: cannot unmarshal into an ID")
        ordered = list(ids)
        offset = ordered.index(cursor) + 1 if cursor in ids else len(ids)
    page = [people[pid] for pid in islice(ids, offset, offset + limit)]
    wanted = body.get("fields")
    return {
        "contacts": [render(account, person, wanted) for person in page] or None,
        "meta": {
            "total_contacts": len(account.people),
            "total_organizations": 0,
            "total_matches": len(ids),
            "total_subscribers": subscribers,
        },
        "offset": offset,
        "next_offset": offset + len(page),
        "cursor_id": page[-1].person_id if page else "",
        "has_more": offset + len(page) < len(ids),
    }


def _selector(
    account: OrttoAccount, body: dict[str, Any], tag_filter: str
) -> tuple[Collection[str], Predicate | None, Tag | None]:
    """The ids to look at, the test each must pass, and the tag whose holders they are, if any."""
    # A tag's holders (an audience's members, a filter that is one tag condition) come from the
    # tag itself rather than from a scan of everyone.
    tests: list[Predicate] = []
    audience_id, node = body.get("audience_id"), body.get("filter")
    tag = _tag_condition(node, tag_filter)
    if tag is not None:
        node = None
    if audience_id is not None:
        audience = account.audiences.get(str(audience_id))
        if audience is None:
            raise bad_request(f"Audience {audience_id} not found")
        if tag is not None:
            tests.append(_tag_test(account, tag[1], by_id=tag[0]))
        tag = (False, audience.tag)
        wanted = body.get("audience_filter")
        if wanted in AUDIENCE_FILTERS:
            subscribed = wanted == "subscribers"
            tests.append(lambda person: audience.subscribed.get(person.person_id, False) is subscribed)
    if node:
        tests.append(_predicate(account, node, tag_filter))
    held = None if tag is None else _find_tag(account, *tag)
    source = account.people.keys() if tag is None else held.holders.keys() if held else ()
    if not tests:
        return source, None, held
    return source, lambda person: all(test(person) for test in tests), held


def _tag_condition(node: object, tag_filter: str) -> tuple[bool, object] | None:
    """(by id?, value) when the filter is a single tag condition in the accepted syntax."""
    if not isinstance(node, dict) or len(node) != 1:
        return None
    ((operator, argument),) = node.items()
    accepted = TAG_FILTERS.get(tag_filter)
    if not isinstance(argument, dict) or (operator, argument.get("field_id")) != accepted:
        return None
    return tag_filter == "tag-id", argument.get("value")


def _find_tag(account: OrttoAccount, by_id: bool, value: object) -> Tag | None:
    """The tag named (or with the id) `value`."""
    if not by_id:
        return account.tags.get(str(value))
    return next((tag for tag in account.tags.values() if tag.tag_id == value), None)


def _predicate(account: OrttoAccount, node: object, tag_filter: str) -> Predicate:
    if not isinstance(node, dict) or len(node) != 1:
        raise bad_request("filter: each condition is an object with one operator")
    ((operator, argument),) = node.items()
    if operator in ("$and", "$or"):
        if not isinstance(argument, list) or not argument:
            raise bad_request(f"filter: {operator} takes a non-empty array")
        parts = [_predicate(account, item, tag_filter) for item in argument]
        combine = all if operator == "$and" else any
        return lambda person: combine(part(person) for part in parts)
    if not isinstance(argument, dict) or not isinstance(argument.get("field_id"), str):
        raise bad_request(f'filter: {operator} takes {{"field_id", "value"}}')
    field_id, value = argument["field_id"], argument.get("value")
    if (operator, field_id) == TAG_FILTERS.get(tag_filter):
        return _tag_test(account, value, by_id=tag_filter == "tag-id")
    if operator in ("$str::is", "$bol::is", "$int::is"):
        key = index_key(field_id, value)
        return lambda person: (
            person.fields.get(field_id) is not None and index_key(field_id, person.fields[field_id]) == key
        )
    if operator in ("$has_any_value", "$has_no_value"):
        present = operator == "$has_any_value"
        return lambda person: (person.fields.get(field_id) not in (None, "")) is present
    raise bad_request(f"filter: unsupported operator {operator} on {field_id}")


def _tag_test(account: OrttoAccount, value: object, *, by_id: bool) -> Predicate:
    if by_id:
        names = {tag.name for tag in account.tags.values() if tag.tag_id == value}
        return lambda person: any(name in names for name in person.tags)
    return lambda person: value in person.tags


def render(account: OrttoAccount, person: Person, wanted: object) -> dict[str, object]:
    """A person as person/get answers them: id and the wanted fields (all when none are named)."""
    values: dict[str, object] = {
        **person.fields,
        "tags": list(person.tags),
        "u4s::t": [account.tags[name].tag_id for name in person.tags if name in account.tags],
    }
    if isinstance(wanted, list) and wanted:
        values = {field_id: values.get(field_id) for field_id in wanted if isinstance(field_id, str)}
    return {"id": person.person_id, "fields": values}
