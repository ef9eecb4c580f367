"""Reading what Ortto holds: which person tags exist, and each tag's holders with their stored fields.

A person's tags are the read-only field `u4s::t`, a list of integer tag ids; a real audience stores
"has tag X" as `{"$u4s::is": {"field_id": "u4s::t", "value": <id>}}` (recorded). That filter is
tried first; two readings of the docs follow only if it is refused. Every answer is checked (each
person read must hold the tag's id in `u4s::t`, or the number read must be the tag's `count`), so a
filter the API ignored is caught. When no filter works, everyone is read once and the holders are
picked by `u4s::t`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from target_autopilot.client import AutopilotClient
from target_autopilot.errors import ApiRefused
from target_autopilot.ortto.fields import EMAIL, FieldMap
from target_autopilot.staging import Staging

PAGE = 500  # person/get's largest page
TAG_IDS = "u4s::t"  # a person's tags, as integer tag ids (there is no field `tags`)
TagId = int | str  # as the API types it: integers in every recorded answer


@dataclass(frozen=True)
class Tag:
    """A person tag as `tags/get` lists it: its id and how many people hold it."""

    tag_id: TagId
    count: int | None


Filter = Callable[[str, Tag], dict[str, Any]]
FILTERS: dict[str, Filter] = {
    "$u4s::is on u4s::t": lambda _, tag: {"$u4s::is": {"field_id": TAG_IDS, "value": tag.tag_id}},
    "$id_set_is on u4s::t": lambda _, tag: {"$id_set_is": {"field_id": TAG_IDS, "value": tag.tag_id}},
    "$str::set_contains on tags": lambda name, _: {"$str::set_contains": {"field_id": "tags", "value": name}},
}


class FilterIgnored(Exception):
    """The API answered a tag filter with people who do not hold the tag, or refused the filter."""


def read_tags(client: AutopilotClient) -> dict[str, Tag]:
    """Name → id and count of every person tag of the account (one request); account tags, whose
    ids overlap person tags' ids, are left out."""
    answer = client.call("POST", "tags", "get", body={}, endpoint="/tags/get")
    if not answer.ok:
        raise ApiRefused(f"Ortto refused to list the tags (HTTP {answer.status}): {answer.message}")
    found: dict[str, Tag] = {}
    for item in answer.body.get("items") or []:
        if not isinstance(item, dict) or item.get("type") or not isinstance(item.get("name"), str):
            continue
        tag_id, count = item.get("id"), item.get("count")
        if isinstance(tag_id, int | str) and not isinstance(tag_id, bool):
            found[item["name"]] = Tag(tag_id, count if isinstance(count, int) else None)
    return found


def read_emails(client: AutopilotClient, ids: list[str]) -> dict[str, str]:
    """Person id → email of these people (one `person/get-by-ids`)."""
    body = {"contact_ids": ids, "fields": [EMAIL]}
    answer = client.call("POST", "person", "get-by-ids", body=body, endpoint="/person/get-by-ids")
    if not answer.ok:
        raise ApiRefused(f"Ortto refused to read people by id (HTTP {answer.status}): {answer.message}")
    contacts = answer.body.get("contacts")
    found: dict[str, str] = {}
    for person_id, contact in contacts.items() if isinstance(contacts, dict) else ():
        values = contact.get("fields") if isinstance(contact, dict) else None
        if isinstance(values, dict) and isinstance(values.get(EMAIL), str):
            found[str(person_id)] = str(values[EMAIL])
    return found


class Holders:
    """Reads tags' holders into staging, remembering which filter syntax works."""

    def __init__(
        self, client: AutopilotClient, fields: FieldMap, staging: Staging, logger: logging.Logger
    ) -> None:
        self.client = client
        self.fields = fields
        self.staging = staging
        self.logger = logger
        self.ids = [*fields.ids(), TAG_IDS]
        self.syntaxes = list(FILTERS)

    def hold(self, tags: dict[str, Tag], titles: Collection[str]) -> None:
        """Record the holders of each tag named in `titles` (tag name → tag in `tags`)."""
        wanted = [title for title in sorted(titles) if title in tags]
        for number, title in enumerate(wanted):
            if not self._hold_tag(title, tags[title]):
                self.logger.warning(
                    "Ortto takes no known filter for 'has tag': reading every person once to find the "
                    "holders of %s",
                    ", ".join(map(repr, wanted[number:])),
                )
                self._hold_by_scan({tags[title].tag_id: title for title in wanted[number:]})
                return

    def _hold_tag(self, title: str, tag: Tag) -> bool:
        while self.syntaxes:
            syntax = self.syntaxes[0]
            try:
                self._read_holders(title, tag, FILTERS[syntax](title, tag))
            except FilterIgnored as why:
                self.staging.unhold(title)
                self.logger.info("Reading tag holders: %s does not work here (%s)", syntax, why)
                self.syntaxes.pop(0)
                continue
            return True
        return False

    def _read_holders(self, title: str, tag: Tag, condition: dict[str, Any]) -> None:
        read = unchecked = 0
        for page in _pages(self.client, self.ids, condition):
            for _, values in page:
                held = values.get(TAG_IDS)
                if not isinstance(held, list):
                    unchecked += 1
                elif tag.tag_id not in held:
                    raise FilterIgnored("it answered people without the tag")
            read += len(page)
            held = self.fields.reader()
            self.staging.hold(title, [held(email, values) for email, values in page])
        if unchecked and tag.count is not None and read != tag.count:
            raise FilterIgnored(f"it answered {read} people for a tag held by {tag.count}")

    def _hold_by_scan(self, titles: dict[TagId, str]) -> None:
        for page in _pages(self.client, self.ids, None):
            for email, values in page:
                held = values.get(TAG_IDS)
                found = (
                    [titles[tag_id] for tag_id in held if tag_id in titles] if isinstance(held, list) else []
                )
                if found:
                    contact = self.fields.held(email, values)
                    for title in found:
                        self.staging.hold(title, [contact])


def _pages(
    client: AutopilotClient, ids: list[str], condition: dict[str, Any] | None
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Pages of (email, stored fields) matching `condition`."""
    offset = 0
    while True:
        body: dict[str, Any] = {"limit": PAGE, "offset": offset, "fields": ids}
        if condition is not None:
            body["filter"] = condition
        answer = client.call("POST", "person", "get", body=body, endpoint="/person/get")
        if answer.status == 400 and condition is not None and offset == 0:
            raise FilterIgnored(f"HTTP 400: {answer.message}")
        if not answer.ok:
            raise ApiRefused(f"Ortto refused to list people (HTTP {answer.status}): {answer.message}")
        contacts = answer.body.get("contacts") or []
        page = []
        for contact in contacts:
            values = contact.get("fields") if isinstance(contact, dict) else None
            if isinstance(values, dict) and isinstance(values.get(EMAIL), str):
                page.append((str(values[EMAIL]), values))
        yield page
        offset += len(contacts)
        if not contacts or not answer.body.get("has_more"):
            return
