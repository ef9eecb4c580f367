"""The Ortto v1 endpoints: what each path does to an account's data and what it answers.

Handlers get an authenticated, admitted `OrttoCall` and return `(status, body)` or raise
`OrttoError`; the shared pipeline (`app.py`, through `ortto/surface.py`) does the rest.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from target_autopilot.sandbox import jsonbody
from target_autopilot.sandbox.config import SandboxConfig
from target_autopilot.sandbox.ortto.errors import OrttoError, bad_request
from target_autopilot.sandbox.ortto.fields import CUSTOM_TYPES, SELECTS, CustomField, kebab
from target_autopilot.sandbox.ortto.merge import Merge, apply_person, parse_merge, person_error, suppressed
from target_autopilot.sandbox.ortto.people import get_people, render
from target_autopilot.sandbox.ortto.store import OrttoAccount, OrttoStore, OrttoStoreClosedError
from target_autopilot.sandbox.ortto.subscribe import audiences_page, subscribe, tags_list

MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
FAILED = frozenset({"invalid", "suppressed"})
MAX_READ_FIELDS = 150  # person/get-by-ids
Body = dict[str, object] | list[dict[str, object]] | None


@dataclass
class OrttoCall:
    """One admitted Ortto request as the handlers see it."""

    account: str
    body: bytes
    config: SandboxConfig
    batch_size: int | None = field(default=None, init=False)

    def json(self, *, required: bool = True) -> dict[str, Any]:
        """The JSON object body ({} when absent and not required)."""
        if len(self.body) > MAX_PAYLOAD_BYTES:
            raise OrttoError(413, "Payload too large: at most 2 MB per request")
        if not self.body.strip():
            if required:
                raise OrttoError(404, "Unknown endpoint or method (no request body)")
            return {}
        try:
            data = jsonbody.loads(self.body)
        except ValueError:
            raise bad_request("Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise bad_request("Request body must be a JSON object")
        return data


Handler = Callable[[OrttoCall], tuple[int, Body]]


class OrttoApi:
    """The endpoint handlers over one store; `routes` maps (path, method) to a handler."""

    def __init__(self, store: OrttoStore, seed: int | None) -> None:
        self.store = store
        self._order = random.Random(seed)  # noqa: S311 - test dice
        self._queued: set[threading.Timer] = set()  # async merges not applied yet
        self._queue_lock = threading.Lock()
        self.routes: dict[tuple[str, str], Handler] = {
            ("/v1/person/merge", "POST"): self.merge,
            ("/v1/person/get", "POST"): self.get,
            ("/v1/person/get-by-ids", "POST"): self.get_by_ids,
            ("/v1/person/custom-field/get", "POST"): self.get_fields,
            ("/v1/person/custom-field/create", "POST"): self.create_field,
            ("/v1/tags/get", "POST"): self.get_tags,
            ("/v1/audiences/get", "POST"): self.get_audiences,
            ("/v1/audience/subscribe", "PUT"): self.subscribe,
        }

    def merge(self, call: OrttoCall) -> tuple[int, Body]:
        """POST /v1/person/merge: create or update 1 to 100 people."""
        body = call.json()
        people = body.get("people")
        call.batch_size = len(people) if isinstance(people, list) else None
        merge = parse_merge(body, call.config)
        if merge.is_async and call.config.ortto_async == "queued":
            timer = threading.Timer(
                call.config.ortto_async_delay_ms / 1000,
                self._merge_quietly,
                (call.account, merge, call.config),
            )
            timer.daemon = True
            with self._queue_lock:
                self._queued.add(timer)
            timer.start()
            return 200, {"status": "queued", "people": []}
        return self._merge(call.account, merge, call.config)

    def forget_queued(self) -> None:
        """Cancel the async merges not applied yet (a reset must not see them land afterwards)."""
        with self._queue_lock:
            for timer in self._queued:
                timer.cancel()
            self._queued.clear()

    def _merge_quietly(self, account: str, merge: Merge, config: SandboxConfig) -> None:
        """Apply a queued merge; its errors, like the real API's, reach no one."""
        with self._queue_lock:
            timer = threading.current_thread()  # a Timer runs its function on its own thread
            if timer not in self._queued:
                return  # forgotten by a reset
            self._queued.discard(timer)
        with contextlib.suppress(OrttoError, OrttoStoreClosedError):
            self._merge(account, merge, config)

    def _merge(self, account: str, merge: Merge, config: SandboxConfig) -> tuple[int, Body]:
        with self.store.transaction(account) as data:
            errors = [person_error(data, merge, person) for person in merge.people]
            if config.ortto_mixed_batch != "per-person":
                refusals = [
                    _refusal(data, merge, person, error)
                    for person, error in zip(merge.people, errors, strict=True)
                ]
                failed = [refusal for refusal in refusals if refusal["status"] != "valid"]
                if failed and len(failed) < len(refusals):  # reject: one entry per person
                    details = failed if config.ortto_mixed_batch == "reject-unaligned" else refusals
                    error = f"Invalid contacts provided ({failed[0]['error']})"
                    raise bad_request(error, self._ordered(details, config))
            results: list[dict[str, object]] = [
                {"status": "invalid", "error": error} if error else apply_person(data, merge, person)
                for person, error in zip(merge.people, errors, strict=True)
            ]
        if all(result["status"] in FAILED for result in results):
            error = f"No valid contacts provided ({results[0]['error']})"
            raise bad_request(error, self._ordered(results, config))
        return 200, {"people": self._ordered(results, config)}

    def reseed(self, seed: int | None) -> None:
        """Start the shuffled orders again from `seed` (None: unpredictable)."""
        self._order.seed(seed)

    def _ordered(self, entries: list[dict[str, object]], config: SandboxConfig) -> list[dict[str, object]]:
        """A 200's `people` or a 400's `details`, in the order `ortto_people_order` says."""
        if config.ortto_people_order == "shuffled":
            entries = entries[:]
            self._order.shuffle(entries)
        return entries

    def get_by_ids(self, call: OrttoCall) -> tuple[int, Body]:
        """POST /v1/person/get-by-ids: the people with these ids, keyed by id (unknown ids left out)."""
        body = call.json()
        ids, wanted = body.get("contact_ids"), body.get("fields")
        if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
            raise bad_request('"contact_ids" must be an array of person ids')
        if wanted is not None and (not isinstance(wanted, list) or len(wanted) > MAX_READ_FIELDS):
            raise bad_request(f'"fields" must be an array of at most {MAX_READ_FIELDS} field ids')
        with self.store.transaction(call.account) as data:
            found = [data.people[pid] for pid in dict.fromkeys(ids) if pid in data.people]
            return 200, {"contacts": {person.person_id: render(data, person, wanted) for person in found}}

    def get(self, call: OrttoCall) -> tuple[int, Body]:
        """POST /v1/person/get: people, filtered, by audience, paged."""
        body = call.json()
        with self.store.transaction(call.account) as data:
            return 200, get_people(data, call.account, body, call.config.ortto_tag_filter)

    def get_fields(self, call: OrttoCall) -> tuple[int, Body]:
        """POST /v1/person/custom-field/get: every custom person field."""
        call.json(required=False)
        with self.store.transaction(call.account) as data:
            fields = list(data.fields.values())
        return 200, {"fields": [_field_json(custom) for custom in fields]}

    def create_field(self, call: OrttoCall) -> tuple[int, Body]:
        """POST /v1/person/custom-field/create: one new custom field."""
        body = call.json()
        kind, name, values = body.get("type"), body.get("name"), body.get("values")
        if kind not in CUSTOM_TYPES:
            raise bad_request(f'"type" must be one of {", ".join(CUSTOM_TYPES)}')
        if not isinstance(name, str) or not kebab(name):
            raise bad_request('"name" must be a non-empty name')
        if kind in SELECTS and (not isinstance(values, list) or not values):
            raise bad_request(f'"values" is required for {kind} fields')
        field_id = f"{CUSTOM_TYPES[kind]}:cm:{kebab(name)}"
        custom = CustomField(
            field_id, name, str(kind), tuple(map(str, values or [])) if kind in SELECTS else (),
            body.get("track_changes") is True,
        )  # fmt: skip
        with self.store.transaction(call.account) as data:
            taken = {kebab(stored.name) for stored in data.fields.values()}
            if kebab(name) in taken:
                raise bad_request(f"A custom field named {name!r} already exists")
            if len(data.fields) >= call.config.ortto_field_limit:
                raise bad_request(f"Up to {call.config.ortto_field_limit} custom fields per instance")
            data.add_field(custom)
        answer: dict[str, object] = {"name": name, "field_id": field_id, "display_type": kind}
        if custom.values:
            answer["values"] = list(custom.values)
        return 200, answer

    def get_tags(self, call: OrttoCall) -> tuple[int, Body]:
        """POST /v1/tags/get: a bare array of tags, optionally searched with `q`."""
        body = call.json(required=False)
        with self.store.transaction(call.account) as data:
            return 200, tags_list(data, call.account, body)

    def get_audiences(self, call: OrttoCall) -> tuple[int, Body]:
        """POST /v1/audiences/get: a bare array of audiences, at most 40 a page."""
        body = call.json(required=False)
        with self.store.transaction(call.account) as data:
            return 200, audiences_page(data, call.account, body)

    def subscribe(self, call: OrttoCall) -> tuple[int, Body]:
        """PUT /v1/audience/subscribe: members' opt-in to one audience."""
        body = call.json()
        with self.store.transaction(call.account) as data:
            return 200, subscribe(data, body)


def _field_json(custom: CustomField) -> dict[str, object]:
    """A custom field as recorded: `dic_items` only on select fields."""
    inner: dict[str, object] = {
        "id": custom.field_id,
        "name": custom.name,
        "display_type": custom.display_type,
        "liquid_name": f"people.custom.{custom.field_id.split(':')[-1]}",
    }
    if custom.values:
        inner["dic_items"] = list(custom.values)
    return {"field": inner, "tracked_value": custom.track_changes}


def _refusal(
    data: OrttoAccount, merge: Merge, person: dict[str, Any], error: str | None
) -> dict[str, object]:
    """What a refused whole batch says of one person: why it would fail, or `valid`."""
    if error:
        return {"status": "invalid", "error": error}
    if suppressed(data, merge, person):
        return {"status": "suppressed", "error": "Email is suppressed"}
    return {"status": "valid"}
