"""Reading what Autopilot Classic holds: custom fields, lists, and each list's members with their fields."""

from __future__ import annotations

import logging
import queue
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from target_autopilot.client import AutopilotClient
from target_autopilot.errors import ApiRefused
from target_autopilot.holdings import HeldContact
from target_autopilot.mapping import STANDARD_FIELDS
from target_autopilot.staging import Staging

_STORED_FIELDS = frozenset(STANDARD_FIELDS) - {"Email"}


def read_lists(client: AutopilotClient, logger: logging.Logger) -> dict[str, str]:
    """Title → list id of every list of the account (the first one of a duplicated title)."""
    answer = client.call("GET", "lists", endpoint="/lists")
    if not answer.ok:
        raise ApiRefused(f"Autopilot refused to list the account's lists: {answer.message}")
    found: dict[str, str] = {}
    duplicated: Counter[str] = Counter()
    for item in answer.body.get("lists") or []:
        title, list_id = item.get("title"), item.get("list_id")
        if isinstance(title, str) and isinstance(list_id, str):
            duplicated[title] += 1
            found.setdefault(title, list_id)
    for title, count in duplicated.items():
        if count > 1:
            logger.warning(
                "Autopilot holds %d lists titled %r; using the first (%s)", count, title, found[title]
            )
    return found


def hold_members(
    client: AutopilotClient, list_ids: Mapping[str, str], staging: Staging, pool: ThreadPoolExecutor
) -> None:
    """Record in staging what each list (title → id) holds: lists read in parallel, page by page.

    Pages go through a queue to the calling thread, the only one that writes staging, so memory
    holds a few pages however large the lists are.
    """
    pages: queue.SimpleQueue[tuple[str, list[HeldContact] | None]] = queue.SimpleQueue()

    def read(title: str) -> None:
        try:
            for page in member_pages(client, list_ids[title]):
                pages.put((title, page))
        finally:
            pages.put((title, None))

    reads = [pool.submit(read, title) for title in list_ids]
    finished = 0
    while finished < len(reads):
        title, page = pages.get()
        if page is None:
            finished += 1
        else:
            staging.hold(title, page)
    for done in reads:
        done.result()


def member_pages(client: AutopilotClient, list_id: str) -> Iterator[list[HeldContact]]:
    """The members of a list, a page of 100 at a time, with the fields Autopilot stores for each."""
    segments = ["list", list_id, "contacts"]
    seen: set[str] = set()
    while True:
        answer = client.call("GET", *segments, endpoint="/list/{list_id}/contacts")
        if not answer.ok:
            raise ApiRefused(f"Autopilot refused to list the members of {list_id}: {answer.message}")
        contacts = answer.body.get("contacts") or []
        yield [held for c in contacts if isinstance(c, dict) and (held := held_contact(c))]
        bookmark = answer.body.get("bookmark")
        if not contacts or not isinstance(bookmark, str) or bookmark in seen:
            return
        seen.add(bookmark)
        segments = ["list", list_id, "contacts", bookmark]


def held_contact(contact: dict[str, Any]) -> HeldContact | None:
    """A contact of a member page in the plan's terms; None without an email."""
    email = contact.get("Email")
    if not isinstance(email, str):
        return None
    fields = {key: value for key, value in contact.items() if key in _STORED_FIELDS}
    custom: dict[str, tuple[str, Any]] = {}
    for item in contact.get("custom_fields") or []:
        if isinstance(item, dict) and isinstance(item.get("kind"), str):
            custom[item["kind"]] = (str(item.get("fieldType") or ""), item.get("value"))
    return HeldContact(email, fields, custom)


def account_fields(client: AutopilotClient, logger: logging.Logger) -> dict[str, str]:
    """Display name → type of every custom field of the account."""
    answer = client.call("GET", "contacts", "custom_fields", endpoint="/contacts/custom_fields")
    items = answer.body.get("items")
    if not answer.ok or not isinstance(items, list):
        logger.warning(
            "Could not read the account's custom fields (GET /contacts/custom_fields answered %d: %s); "
            "their types are not checked before writing",
            answer.status,
            answer.message,
        )
        return {}
    pairs = ((item.get("name"), item.get("fieldType")) for item in items if isinstance(item, dict))
    return {name: kind for name, kind in pairs if isinstance(name, str) and isinstance(kind, str)}
