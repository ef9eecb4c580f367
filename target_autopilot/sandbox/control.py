"""The control API under `/_sandbox/`: reset, statistics, run-time settings, a dump, and pages.

No API key, no rate limit, no faults and no statistics here: it is the test's and the user's view
of the sandbox, not part of the Autopilot API. Accounts are named by index and account id, never
by their API key. With a control token, every request here must carry it (guard.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from target_autopilot.sandbox.classic.api import render_contacts
from target_autopilot.sandbox.classic.contacts import CUSTOM_TYPES
from target_autopilot.sandbox.guard import LOGIN_PATH, Guard
from target_autopilot.sandbox.ortto.control import add_account_tag, add_audience, add_suppressed, ortto_view
from target_autopilot.sandbox.ortto.store import OrttoAccount
from target_autopilot.sandbox.pages import Pages
from target_autopilot.sandbox.state import SandboxState


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": "Bad Request" if status == 400 else "Not Found", "message": message}, status)


OrttoChange = Callable[[OrttoAccount, dict[str, Any]], dict[str, object]]


class ControlApi:
    """Handlers for `/_sandbox/...`, over the running app's state."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.pages = Pages(state)
        self.guard = Guard(state.config.control_token)

    def handle(self, request: Request, segments: list[str]) -> Response:
        """Answer a control request; `segments` is the path after `_sandbox`."""
        path = "/".join(segments)
        refused = self.guard.refuse(request, path)
        if refused is not None:
            return refused
        if segments[:1] == ["accounts"] and request.method == "GET":
            return self.pages.browse(request, segments[1:])
        routes = {
            ("GET", ""): self.pages.overview,
            ("GET", LOGIN_PATH): self.guard.login,
            ("POST", LOGIN_PATH): self.guard.login,
            ("POST", "reset"): self.reset,
            ("GET", "stats"): self.stats,
            ("POST", "stats/reset"): self.reset_stats,
            ("GET", "config"): self.get_config,
            ("POST", "config"): self.set_config,
            ("GET", "dump"): self.dump_json,
            ("POST", "custom_fields"): self.add_custom_field,
            ("POST", "ortto/audiences"): self.ortto_change(add_audience),
            ("POST", "ortto/suppressed"): self.ortto_change(add_suppressed),
            ("POST", "ortto/account-tags"): self.ortto_change(add_account_tag),
        }
        handler = routes.get((request.method, path))
        if handler is None:
            known = any(route_path == path for _, route_path in routes)
            if known:
                return _json({"code": "MethodNotAllowedError", "message": "wrong method"}, 405)
            return _error(404, f"No control endpoint /_sandbox/{path}")
        return handler(request)

    def reset(self, _request: Request) -> Response:
        """POST /_sandbox/reset: forget all data and statistics."""
        self._state.reset()
        return _json({"reset": True})

    def stats(self, _request: Request) -> Response:
        """GET /_sandbox/stats."""
        return _json(self._state.stats.snapshot())

    def reset_stats(self, _request: Request) -> Response:
        """POST /_sandbox/stats/reset: statistics only, data stays."""
        self._state.stats.reset()
        return _json({"reset": True})

    def get_config(self, _request: Request) -> Response:
        """GET /_sandbox/config."""
        return _json(self._state.config.to_json())

    def set_config(self, request: Request) -> Response:
        """POST /_sandbox/config with a JSON object of settings to change."""
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict):
            return _error(400, "Send a JSON object of settings to change.")
        try:
            return _json(self._state.reconfigure(changes).to_json())
        except ValueError as error:
            return _error(400, str(error))

    def dump_json(self, _request: Request) -> Response:
        """GET /_sandbox/dump: every account's lists (with member emails), contacts and fields."""
        return _json(self.dump())

    def add_custom_field(self, request: Request) -> Response:
        """POST /_sandbox/custom_fields {"name", "fieldType", "account": index}: pre-create one."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(400, 'Send {"name": ..., "fieldType": ..., "account": 0}.')
        name, field_type, index = body.get("name"), body.get("fieldType"), body.get("account", 0)
        if not isinstance(name, str) or not name or field_type not in CUSTOM_TYPES:
            return _error(400, f"name must be a string, fieldType one of {', '.join(CUSTOM_TYPES)}.")
        account_ids = self._state.account_ids
        if not isinstance(index, int) or not 0 <= index < len(account_ids):
            return _error(404, f"No account with index {index}.")
        with self._state.store.transaction() as tx:
            stored = tx.custom_fields(account_ids[index]).get(name)
            if stored is None:
                tx.add_custom_fields(account_ids[index], {name: str(field_type)})
        if stored not in (None, field_type):
            return _error(400, f"Custom field '{name}' already exists as {stored}.")
        return _json({"name": name, "fieldType": field_type, "created": stored is None})

    def ortto_change(self, change: OrttoChange) -> Callable[[Request], Response]:
        """A handler that applies `change` to the Ortto data of the account the body names."""

        def handle(request: Request) -> Response:
            body = request.get_json(silent=True)
            index = body.get("account", 0) if isinstance(body, dict) else None
            if not isinstance(body, dict) or not isinstance(index, int):
                return _error(400, "Send a JSON object.")
            if not 0 <= index < len(self._state.account_ids):
                return _error(404, f"No account with index {index}.")
            with self._state.ortto_store.transaction(self._state.account_ids[index]) as data:
                try:
                    return _json(change(data, body))
                except ValueError as error:
                    return _error(400, str(error))

        return handle

    def dump(self) -> dict[str, object]:
        """The whole state as JSON-ready data."""
        return {"accounts": [asdict(view) for view in self._account_views()]}

    def _account_views(self) -> list[AccountView]:
        views = []
        with self._state.store.transaction() as tx:
            for index, account in enumerate(self._state.account_ids):
                lists = [
                    ListView(item.list_id, item.title, tx.member_emails(account, item.list_id))
                    for item in tx.lists(account)
                ]
                fields = tx.custom_fields(account)
                with self._state.ortto_store.transaction(account) as data:
                    ortto = ortto_view(data)
                views.append(
                    AccountView(
                        index=index,
                        account_id=account,
                        lists=lists,
                        contacts=render_contacts(tx, account, tx.all_contacts(account)),
                        custom_fields=[{"name": n, "fieldType": t} for n, t in fields.items()],
                        ortto=ortto,
                    )
                )
        return views


@dataclass
class ListView:
    """A list with its members' emails, in order of joining."""

    list_id: str
    title: str
    members: list[str]


@dataclass
class AccountView:
    """One account's whole state, as the dump and the page show it."""

    index: int
    account_id: str
    lists: list[ListView]
    contacts: list[dict[str, object]]
    custom_fields: list[dict[str, str]]
    ortto: dict[str, object]
