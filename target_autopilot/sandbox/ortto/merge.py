"""`POST /v1/person/merge`: checking the request, finding each person by `merge_by`, applying it.

A request-level mistake (no people, over 100, a bad `merge_by` or strategy, a tag both set and
unset) fails the whole request with a 400. A person-level one (unknown field id, wrong value type,
no email nor external id) makes that person `invalid`: it is never partly applied.

People are matched on the `merge_by` keys only: a person holding none of them matches nobody and is
created, even beside someone with the same email (the sandbox's reading: `--ortto-default-merge-by`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from target_autopilot.sandbox.config import SandboxConfig
from target_autopilot.sandbox.ortto.errors import bad_request
from target_autopilot.sandbox.ortto.fields import (
    BUILT_IN,
    EMAIL,
    EXTERNAL_ID,
    PERSON_ID,
    READ_ONLY,
    value_error,
)
from target_autopilot.sandbox.ortto.store import OrttoAccount, Person, new_id, now_iso

MAX_PEOPLE = 100
MAX_MERGE_KEYS = 3
HEX_ID = re.compile(r"^[0-9a-f]{24}$")
Result = dict[str, object]


@dataclass(frozen=True)
class Merge:
    """A checked merge request."""

    people: list[dict[str, Any]]
    merge_by: list[str]
    merge_strategy: int
    find_strategy: int
    skip_non_existing: bool
    suppression: bool
    is_async: bool

    @property
    def by_person_id(self) -> bool:
        """Whether people are matched by their Ortto id (and never created)."""
        return self.merge_by[0] == PERSON_ID


def parse_merge(body: dict[str, Any], config: SandboxConfig) -> Merge:
    """The request's options, checked; raises a 400 for a mistake that concerns the whole request.

    An omitted `merge_by` or `async` takes the account's data-source defaults (the switches).
    """
    people = body.get("people")
    if not isinstance(people, list) or not people:
        raise bad_request('"people" must be an array of 1 to 100 people')
    if len(people) > MAX_PEOPLE:
        raise bad_request(f"Too many people: {len(people)} (at most {MAX_PEOPLE} per request)")
    merge_by = body.get("merge_by", [config.ortto_default_merge_by])
    if (
        not isinstance(merge_by, list)
        or not 1 <= len(merge_by) <= MAX_MERGE_KEYS
        or not all(isinstance(key, str) and key for key in merge_by)
    ):
        raise bad_request('"merge_by" must hold one to three field ids')
    if PERSON_ID in merge_by and len(merge_by) > 1:
        raise bad_request("str::person_id must be the only merge_by field")
    strategy, find = body.get("merge_strategy", 2), body.get("find_strategy", 0)
    if strategy not in (1, 2, 3) or isinstance(strategy, bool):
        raise bad_request('"merge_strategy" must be 1, 2 or 3')
    if find not in (0, 1, 2) or isinstance(find, bool):
        raise bad_request('"find_strategy" must be 0, 1 or 2')
    suppression = body.get("suppression_list_field_id")
    if suppression not in (None, "", EMAIL):
        raise bad_request('"suppression_list_field_id" can only be "str::email"')
    for person in people:
        if isinstance(person, dict) and _both_set_and_unset(person):
            raise bad_request("A tag cannot be in both tags and unset_tags of one person")
    return Merge(
        people, merge_by, strategy, find, body.get("skip_non_existing") is True, bool(suppression),
        body.get("async", config.ortto_default_async == "async") is True,
    )  # fmt: skip


def _both_set_and_unset(person: dict[str, Any]) -> bool:
    tags, unset = person.get("tags"), person.get("unset_tags")
    return (
        isinstance(tags, list)
        and isinstance(unset, list)
        and bool(set(map(str, tags)) & set(map(str, unset)))
    )


def person_error(account: OrttoAccount, merge: Merge, person: object) -> str | None:
    """Why this person is `invalid`, or None."""
    if not isinstance(person, dict) or not isinstance(person.get("fields", {}), dict):
        return 'each person must be an object with a "fields" object'
    for key in ("tags", "unset_tags"):
        names = person.get(key, [])
        if not isinstance(names, list) or not all(isinstance(name, str) and name.strip() for name in names):
            return f'"{key}" must be an array of tag names'
    fields: dict[str, Any] = person.get("fields", {})
    for field_id, value in fields.items():
        problem = _field_error(account, merge, field_id, value)
        if problem:
            return problem
    if merge.by_person_id:
        return None if fields.get(PERSON_ID) is not None else "str::person_id is required to merge by it"
    if fields.get(EMAIL) is None and fields.get(EXTERNAL_ID) is None:
        return "str::email is required when str::ei is absent"
    return None


def _field_error(account: OrttoAccount, merge: Merge, field_id: str, value: object) -> str | None:
    if field_id in READ_ONLY:
        return f"field {field_id} is read-only"
    if field_id == PERSON_ID:
        ok = merge.by_person_id and isinstance(value, str) and HEX_ID.match(value)
        return None if ok else "str::person_id is only accepted as a 24-hex id, merging by it alone"
    custom = account.fields.get(field_id)
    if field_id not in BUILT_IN and custom is None:
        return f"failed to validate field {field_id} in schema: {field_id}: Object not found"
    return None if value is None else value_error(field_id, value, custom)


def find_person(account: OrttoAccount, merge: Merge, fields: dict[str, Any]) -> Person | None:
    """The stored person these fields match, by `merge_by` and `find_strategy`."""
    if merge.by_person_id:
        return account.people.get(str(fields[PERSON_ID]))
    if merge.find_strategy == 2:
        found = [account.find(key, fields[key]) for key in merge.merge_by if fields.get(key) is not None]
        first = found[0] if found else None
        return first if first is not None and all(item is first for item in found) else None
    for position, key in enumerate(merge.merge_by):
        value = fields.get(key)
        person = None if value is None else account.find(key, value)
        if person is None:
            continue
        if merge.find_strategy == 1 and any(
            person.fields.get(k) is not None for k in merge.merge_by[:position]
        ):
            continue
        return person
    return None


def apply_person(account: OrttoAccount, merge: Merge, person: dict[str, Any]) -> Result:
    """Merge one checked person; its result entry."""
    fields: dict[str, Any] = dict(person.get("fields", {}))
    tags: list[str] = list(dict.fromkeys(person.get("tags", [])))
    unset: list[str] = person.get("unset_tags", [])
    found = find_person(account, merge, fields)
    fields.pop(PERSON_ID, None)
    if found is None:
        return _create(account, merge, fields, tags)
    if merge.merge_strategy == 3:
        return {"person_id": found.person_id, "status": "merged"}
    previous = dict(found.fields)
    for field_id, value in fields.items():
        if merge.merge_strategy == 2 and value is None:
            found.fields.pop(field_id, None)
        elif value is not None and (merge.merge_strategy == 2 or found.fields.get(field_id) is None):
            found.fields[field_id] = value
    kept = [name for name in found.tags if name not in unset]
    found.tags = kept + [name for name in tags if name not in kept]
    found.updated_at = now_iso()
    account.save(found, previous, [name for name in unset if name not in found.tags])
    return {"person_id": found.person_id, "status": "merged"}


def suppressed(account: OrttoAccount, merge: Merge, person: dict[str, Any]) -> bool:
    """Whether merging this (valid) person would be refused because their new address is suppressed."""
    fields: dict[str, Any] = person.get("fields", {})
    email = fields.get(EMAIL)
    return (
        merge.suppression
        and not merge.skip_non_existing
        and not merge.by_person_id
        and isinstance(email, str)
        and email.lower() in account.suppressed
        and find_person(account, merge, fields) is None
    )


def _create(account: OrttoAccount, merge: Merge, fields: dict[str, Any], tags: list[str]) -> Result:
    if merge.skip_non_existing or merge.by_person_id:
        return {"status": "ignored"}
    email = fields.get(EMAIL)
    if merge.suppression and isinstance(email, str) and email.lower() in account.suppressed:
        return {"status": "suppressed", "error": "Email is suppressed"}
    stored = {key: value for key, value in fields.items() if value is not None}
    stored.setdefault("bol::p", True)
    stored.setdefault("bol::sp", False)
    now = now_iso()
    created = Person(new_id(), stored, tags, now, now)
    account.save(created, None, [])
    return {"person_id": created.person_id, "status": "created"}
