"""The sandbox's HTML pages under /_sandbox/: an overview, then lists and tags → members → a person.

/_sandbox/                                      accounts: lists, tags, audiences; latest requests
/_sandbox/accounts/{index}/lists/{list_id}      a Classic list's members (?q=email&page=N)
/_sandbox/accounts/{index}/contacts/{id}        a Classic contact
/_sandbox/accounts/{index}/tags/{tag_id}        an Ortto tag's holders (?q=email&page=N)
/_sandbox/accounts/{index}/people/{person_id}   an Ortto person
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from target_autopilot.sandbox.classic import pages as classic
from target_autopilot.sandbox.markup import esc, layout, table
from target_autopilot.sandbox.ortto import pages as ortto
from target_autopilot.sandbox.state import SandboxState

PageBody = tuple[str, str] | None


class Pages:
    """Read-only pages over the running app's state."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def overview(self, _request: Request) -> Response:
        """GET /_sandbox/: every account's lists, tags and audiences, and the latest requests."""
        sections = [
            self._account_section(index, account) for index, account in enumerate(self._state.account_ids)
        ]
        requests = [
            [esc(value) for value in (r.at, r.api, r.method, r.path, r.status, r.duration_ms, r.fault or "")]
            for r in reversed(self._state.stats.recent())
        ]
        headers = ["At", "API", "Method", "Path", "Status", "ms", "Fault"]
        body = (
            "".join(sections)
            + "<h2>Latest API requests</h2>"
            + table(headers, requests, "No API requests yet.")
        )
        return Response(layout("Autopilot sandbox", body, refresh=True), mimetype="text/html")

    def _account_section(self, index: int, account: str) -> str:
        base = f"/_sandbox/accounts/{index}"
        with self._state.store.transaction() as tx:
            lists, contacts = classic.list_rows(tx, account, base), tx.count_contacts(account)
        with self._state.ortto_store.transaction(account) as data:
            tags, audiences, people = ortto.tag_rows(data, base), ortto.audience_rows(data), len(data.people)
        return (
            f"<h2>Account {index} <small>{esc(account)}</small></h2>"
            f"<h3>Classic: {contacts} contacts, {len(lists)} lists</h3>"
            + table(["List", "Id", "Members"], lists, "No lists yet.", "lists")
            + f"<h3>Ortto: {people} people, {len(tags)} tags</h3>"
            + table(["Tag", "Id", "Holders"], tags, "No tags yet.", "tags")
            + (
                table(["Audience", "Id", "Members: holders of tag"], audiences, "", "audiences")
                if audiences
                else ""
            )
        )

    def browse(self, request: Request, segments: list[str]) -> Response:
        """GET /_sandbox/accounts/{index}/{kind}/{id}."""
        found: PageBody = None
        if len(segments) == 3 and segments[0].isdigit() and int(segments[0]) < len(self._state.account_ids):
            found = self._page(request, int(segments[0]), segments[1], segments[2])
        if found is None:
            return Response(layout("Not found", "<p>Nothing here.</p>"), 404, mimetype="text/html")
        return Response(layout(*found), mimetype="text/html")

    def _page(self, request: Request, index: int, kind: str, key: str) -> PageBody:
        account, base = self._state.account_ids[index], f"/_sandbox/accounts/{index}"
        query = request.args.get("q", "").strip()
        number = request.args.get("page", "1")
        number_int = int(number) if number.isdigit() else 1
        if kind in ("lists", "contacts"):
            with self._state.store.transaction() as tx:
                if kind == "lists":
                    return classic.members_page(tx, account, base, key, query, number_int)
                return classic.contact_page(tx, account, base, key)
        if kind in ("tags", "people"):
            with self._state.ortto_store.transaction(account) as data:
                if kind == "tags":
                    return ortto.holders_page(data, base, key, query, number_int)
                return ortto.person_page(data, base, key)
        return None
