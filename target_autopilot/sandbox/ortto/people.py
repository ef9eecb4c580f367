"""`POST /v1/person/get`: fields, filters, audience members, paging by offset or by cursor."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from itertools import islice
from typing import Any

from target_autopilot.sandbox.ortto.errors import bad_request
from target_autopilot.sandbox.ortto.fields import BUILT_IN, READ_ONLY, TAG_IDS
from target_autopilot.sandbox.ortto.merge import HEX_ID
from target_autopilot.sandbox.ortto.store import OrttoAccount, Person, Tag, index_key

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# The one "has tag" filter each `ortto_tag_filter` position takes: operator, field id, whether
# `value` is the tag's integer id (else its name). `u4s-is` is the recorded one; the others are
# readings of the docs, kept for a client to prove it copes. `none` takes none; `ignored` takes
# the recorded one and answers everyone, as an API that skipped the filter would.
TAG_FILTERS = {
    "u4s-is": ("$u4s::is", TAG_IDS, True),
    "ignored": ("$u4s::is", TAG_IDS, True),
    "set-contains": ("$str::set_contains", "tags", False),
    "tag-id": ("$id_set_is", TAG_IDS, True),
}
COMPARISONS = ("$str::is", "$bol::is", "$int::is")
PRESENCE = ("$has_any_value", "$has_no_value")
AUDIENCE_FILTERS = ("subscribers", "unsubscribed")
SEARCHED = ("str::email", "str::first", "str::last", "str::name")
# Recorded past the last page (and for an archived search that matched no one).
NO_CURSOR = "0" * 24
Predicate = Callable[[Person], bool]


def get_people(
    account: OrttoAccount, instance: str, body: dict[str, Any], tag_filter: str
) -> dict[str, object]:
    """The answer to a person/get body."""
    limit = body.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        limit = DEFAULT_LIMIT
    offset = body.get("offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise bad_request('"offset" must be a whole number')
    wanted = body.get("fields")
    if isinstance(wanted, list):
        for field_id in wanted:
            _check_field(account, instance, field_id)
    cursor = body.get("cursor_id")
    if cursor and (not isinstance(cursor, str) or not HEX_ID.match(cursor)):
        raise bad_request(
            f"{instance}: Failed to parse request cannot unmarshal into an ID, the length must be 12 or "
            f"24 + 2 for hex but it is {len(json.dumps(cursor))}: Object not found"
        )
    # Ids, not people, until the page is cut: a page of a tag with many holders copies none of them.
    ids, test, tag = _Selector(account, instance, tag_filter).select(body)
    people = account.people
    if test is not None:
        ids = [pid for pid in ids if test(people[pid])]
    if cursor:
        ordered = list(ids)
        offset = ordered.index(cursor) + 1 if cursor in ids else len(ids)
    page = [people[pid] for pid in islice(ids, offset, offset + limit)]
    if not page:
        return _end_of_pages()
    subscribers = (
        tag.subscribers
        if tag is not None and test is None
        else sum(1 for pid in ids if people[pid].fields.get("bol::p"))
    )
    return {
        "contacts": [render(account, person, wanted) for person in page],
        "meta": {
            "total_contacts": len(account.people),
            "total_organizations": 0,
            "total_matches": len(ids),
            "total_subscribers": subscribers,
        },
        "offset": offset,
        "next_offset": offset + len(page),
        "cursor_id": page[-1].person_id,
        "has_more": offset + len(page) < len(ids),
    }


def _end_of_pages() -> dict[str, object]:
    meta = {"total_contacts": 0, "total_organizations": 0, "total_matches": 0, "total_subscribers": 0}
    return {
        "contacts": None,
        "meta": meta,
        "offset": 0,
        "next_offset": 0,
        "cursor_id": NO_CURSOR,
        "has_more": False,
    }


def _check_field(account: OrttoAccount, instance: str, field_id: object) -> None:
    """A 400 "Object not found" for a field id the account's schema lacks (`tags` among them)."""
    if isinstance(field_id, str) and (
        field_id in BUILT_IN or field_id in READ_ONLY or field_id in account.fields
    ):
        return
    raise bad_request(
        f"{instance}: failed to validate field {field_id} in schema: {field_id}: Object not found"
    )


class _Selector:
    """Turns a body's `audience_id` and `filter` into the ids to look at and the test each must pass."""

    def __init__(self, account: OrttoAccount, instance: str, tag_filter: str) -> None:
        self.account = account
        self.instance = instance
        self.tag_filter = tag_filter
        self.accepted = TAG_FILTERS.get(tag_filter)

    def select(self, body: dict[str, Any]) -> tuple[Collection[str], Predicate | None, Tag | None]:
        """The ids, the test (None: all pass), and the tag whose holders they are, if any."""
        # A tag's holders (an audience's members, a filter that is one tag condition) come from the
        # tag itself rather than from a scan of everyone.
        tests: list[Predicate] = []
        audience_id, node = body.get("audience_id"), body.get("filter")
        held = self._single_tag(node)
        if held is not None:
            node = None
        if audience_id is not None:
            audience = self.account.audiences.get(str(audience_id))
            if audience is None:
                raise bad_request(f"Audience {audience_id} not found")
            if held is not None:
                tests.append(_holds(held))
            held = self.account.tags.get(audience.tag, Tag(0, audience.tag, ""))
            wanted = body.get("audience_filter")
            if wanted in AUDIENCE_FILTERS:
                subscribed = wanted == "subscribers"
                tests.append(lambda person: audience.subscribed.get(person.person_id, False) is subscribed)
        if node:
            tests.append(self._predicate(node))
        search = body.get("q")
        if isinstance(search, str) and search.strip():
            tests.append(_search(search.strip().lower()))
        source = self.account.people.keys() if held is None else held.holders.keys()
        if not tests:
            return source, None, held
        return source, lambda person: all(test(person) for test in tests), held

    def _single_tag(self, node: object) -> Tag | None:
        """The tag a filter that is one tag condition names (an empty tag when none has that id)."""
        if self.tag_filter == "ignored" or not isinstance(node, dict) or len(node) != 1:
            return None
        ((operator, argument),) = node.items()
        if self.accepted is None or not isinstance(argument, dict):
            return None
        if (operator, argument.get("field_id")) != self.accepted[:2]:
            return None
        return self._tag(argument.get("value")) or Tag(0, "", "")

    def _tag(self, value: object) -> Tag | None:
        assert self.accepted is not None
        return self.account.tag_by_id(value) if self.accepted[2] else self.account.tags.get(str(value))

    def _predicate(self, node: object) -> Predicate:
        if not isinstance(node, dict) or len(node) != 1:
            raise bad_request(
                f"{self.instance}: Failed to decode filter: each condition is an object with one operator"
            )
        ((operator, argument),) = node.items()
        if operator in ("$and", "$or"):
            if not isinstance(argument, list) or not argument:
                raise self._unknown(operator, argument)
            parts = [self._predicate(item) for item in argument]
            combine = all if operator == "$and" else any
            return lambda person: combine(part(person) for part in parts)
        field_id = argument.get("field_id") if isinstance(argument, dict) else None
        if self.accepted is not None and (operator, field_id) == self.accepted[:2]:
            if self.tag_filter == "ignored":
                return lambda person: True
            tag = self._tag(argument.get("value"))
            return _holds(tag) if tag is not None else lambda person: False
        if operator not in COMPARISONS + PRESENCE or not isinstance(field_id, str):
            raise self._unknown(operator, argument)
        _check_field(self.account, self.instance, field_id)
        if operator in PRESENCE:
            present = operator == "$has_any_value"
            return lambda person: (person.fields.get(field_id) not in (None, "")) is present
        key = index_key(field_id, argument.get("value"))
        return lambda person: (
            person.fields.get(field_id) is not None and index_key(field_id, person.fields[field_id]) == key
        )

    def _unknown(self, operator: str, argument: object) -> Exception:
        """The recorded answer to an operator the API does not know."""
        shown = json.dumps(argument, separators=(",", ":"))
        return bad_request(
            f"{self.instance}: Failed to decode filter {operator} body {shown}: "
            f"Unknown operation {operator}: {shown} (Invalid value)"
        )


def _search(words: str) -> Predicate:
    """`q`: a free-text search, here in email and names."""
    return lambda person: any(
        words in str(person.fields.get(field_id) or "").lower() for field_id in SEARCHED
    )


def _holds(tag: Tag) -> Predicate:
    return lambda person: person.person_id in tag.holders


def render(account: OrttoAccount, person: Person, wanted: object) -> dict[str, object]:
    """A contact: the asked fields it has a value for (unset ones are left out, never null)."""
    values: dict[str, object] = dict(person.fields)
    tag_ids = [account.tags[name].tag_id for name in person.tags if name in account.tags]
    if tag_ids:
        values[TAG_IDS] = tag_ids
    if isinstance(wanted, list) and wanted:
        values = {field_id: values[field_id] for field_id in wanted if values.get(field_id) is not None}
    return {"id": person.person_id, "fields": values}
