"""Reading what Ortto holds: which tags exist, and each tag's holders with their stored fields.

The `person/get` filter for "has tag X" is not documented (OPEN), so the reader tries the two likely
syntaxes and checks every answer: a filter the API ignored would return people without the tag.
When neither works it reads everyone once and picks the holders itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from typing import Any

from target_autopilot.client import AutopilotClient
from target_autopilot.errors import ApiRefused
from target_autopilot.ortto.fields import EMAIL, FieldMap
from target_autopilot.staging import Staging

PAGE = 500  # person/get's largest page
Filter = Callable[[str, str], dict[str, Any]]
FILTERS: dict[str, Filter] = {
    "$str::set_contains on tags": lambda name, _: {"$str::set_contains": {"field_id": "tags", "value": name}},
    "$id_set_is on u4s::t": lambda _, tag_id: {"$id_set_is": {"field_id": "u4s::t", "value": tag_id}},
}


class FilterIgnored(Exception):
    """The API answered a tag filter with people who do not hold the tag, or refused the filter."""


def read_tags(client: AutopilotClient) -> dict[str, str]:
    """Name → id of every person tag of the account (one request)."""
    answer = client.call("POST", "tags", "get", body={}, endpoint="/tags/get")
    if not answer.ok:
        raise ApiRefused(f"Ortto refused to list the tags (HTTP {answer.status}): {answer.message}")
    items = answer.body.get("items") or []
    return {
        str(item["name"]): str(item.get("id") or "")
        for item in items
        if isinstance(item, dict) and isinstance(item.get("name"), str) and not item.get("type")
    }


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
        self.ids = [*fields.ids(), "tags"]
        self.syntaxes = list(FILTERS)

    def hold(self, tags: dict[str, str], titles: Collection[str]) -> None:
        """Record the holders of each tag named in `titles` (tag name → id in `tags`)."""
        wanted = [title for title in sorted(titles) if title in tags]
        for number, title in enumerate(wanted):
            if not self._hold_tag(title, tags[title]):
                self.logger.warning(
                    "Ortto takes no known filter for 'has tag': reading every person once to find the "
                    "holders of %s",
                    ", ".join(map(repr, wanted[number:])),
                )
                self._hold_by_scan(set(wanted[number:]))
                return

    def _hold_tag(self, title: str, tag_id: str) -> bool:
        while self.syntaxes:
            syntax = self.syntaxes[0]
            try:
                for page in _pages(self.client, self.ids, FILTERS[syntax](title, tag_id), title):
                    self.staging.hold(title, [self.fields.held(email, values) for email, values in page])
            except FilterIgnored as why:
                self.logger.info("Reading tag holders: %s does not work here (%s)", syntax, why)
                self.syntaxes.pop(0)
                continue
            return True
        return False

    def _hold_by_scan(self, titles: set[str]) -> None:
        for page in _pages(self.client, self.ids, None, None):
            for email, values in page:
                found = titles.intersection(values.get("tags") or [])
                if found:
                    held = self.fields.held(email, values)
                    for title in found:
                        self.staging.hold(title, [held])


def _pages(
    client: AutopilotClient, ids: list[str], condition: dict[str, Any] | None, title: str | None
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Pages of (email, stored fields) matching `condition`; with `title`, each must hold that tag."""
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
            if not isinstance(values, dict) or not isinstance(values.get(EMAIL), str):
                continue
            if title is not None and title not in (values.get("tags") or []):
                raise FilterIgnored("it answered people without the tag")
            page.append((str(values[EMAIL]), values))
        yield page
        offset += len(contacts)
        if not contacts or not answer.body.get("has_more"):
            return
