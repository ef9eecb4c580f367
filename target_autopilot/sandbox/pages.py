"""The sandbox's HTML pages under /_sandbox/: an overview, then lists and tags → members → a person.

/_sandbox/                                      accounts: lists, tags, audiences; latest requests
/_sandbox/accounts/{index}/people               every person and contact (?q=email&page=N)
/_sandbox/accounts/{index}/runs                 each run's joiners and leavers per list and tag
/_sandbox/accounts/{index}/lists/{list_id}      a Classic list's members (?q=email&page=N)
/_sandbox/accounts/{index}/contacts/{id}        a Classic contact
/_sandbox/accounts/{index}/tags/{tag_id}        an Ortto tag's holders (?q=email&page=N)
/_sandbox/accounts/{index}/people/{person_id}   an Ortto person

Each account shows the API it was used with first (Ortto before Classic for an Ortto user).
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from target_autopilot.sandbox.classic import pages as classic
from target_autopilot.sandbox.markup import esc, layout, link, search_form, table
from target_autopilot.sandbox.ortto import pages as ortto
from target_autopilot.sandbox.state import SandboxState

PageBody = tuple[str, str] | None
API_ORDER = ("classic", "ortto")


class Pages:
    """Read-only pages over the running sandbox's state."""

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

    def _apis(self, account: str) -> list[str]:
        """Both APIs, those the account was used with first, in the order of first use."""
        used = self._state.runs.apis(account)
        return [*used, *(api for api in API_ORDER if api not in used)]

    def _account_section(self, index: int, account: str) -> str:
        base = f"/_sandbox/accounts/{index}"
        parts = {"classic": self._classic_part(account, base), "ortto": self._ortto_part(account, base)}
        used = ", ".join(self._state.runs.apis(account)) or "not used yet"
        return (
            f"<h2>Account {index} <small>{esc(account)}</small></h2>"
            f'<p class="account">Used with: {esc(used)} · {link(f"{base}/people", "People")} · '
            f"{link(f'{base}/runs', 'Runs')}</p>" + "".join(parts[api] for api in self._apis(account))
        )

    def _classic_part(self, account: str, base: str) -> str:
        with self._state.store.transaction() as tx:
            lists, contacts = classic.list_rows(tx, account, base), tx.count_contacts(account)
        return f"<h3>Classic: {contacts} contacts, {len(lists)} lists</h3>" + table(
            ["List", "Id", "Members"], lists, "No lists yet.", "lists"
        )

    def _ortto_part(self, account: str, base: str) -> str:
        with self._state.ortto_store.transaction(account) as data:
            tags, audiences, people = ortto.tag_rows(data, base), ortto.audience_rows(data), len(data.people)
        audience_table = table(["Audience", "Id", "Members: holders of tag"], audiences, "", "audiences")
        return (
            f"<h3>Ortto: {people} people, {len(tags)} tags</h3>"
            + table(["Tag", "Id", "Holders"], tags, "No tags yet.", "tags")
            + (audience_table if audiences else "")
        )

    def browse(self, request: Request, segments: list[str]) -> Response:
        """GET /_sandbox/accounts/{index}/{kind}[/{id}]."""
        found: PageBody = None
        known = segments[:1] and segments[0].isdigit() and int(segments[0]) < len(self._state.account_ids)
        if known and len(segments) == 3:
            found = self._page(request, int(segments[0]), segments[1], segments[2])
        elif known and len(segments) == 2 and segments[1] == "people":
            found = self._people(request, int(segments[0]))
        elif known and len(segments) == 2 and segments[1] == "runs":
            found = self._runs(int(segments[0]))
        if found is None:
            return Response(layout("Not found", "<p>Nothing here.</p>"), 404, mimetype="text/html")
        return Response(layout(*found), mimetype="text/html")

    def _people(self, request: Request, index: int) -> PageBody:
        account, base = self._state.account_ids[index], f"/_sandbox/accounts/{index}"
        query, number = _search(request)
        sections = {}
        with self._state.ortto_store.transaction(account) as data:
            sections["ortto"] = ortto.people_section(data, base, query, number)
        with self._state.store.transaction() as tx:
            sections["classic"] = classic.contacts_section(tx, account, base, query, number)
        body = search_form(query) + "".join(sections[api] for api in self._apis(account))
        return f"People of account {index}", body

    def _runs(self, index: int) -> PageBody:
        account = self._state.account_ids[index]
        runs = self._state.runs.changes(account, self._state.members(account))
        with self._state.store.transaction() as tx, self._state.ortto_store.transaction(account) as data:
            parts = [
                f"<h2>Run from {esc(run.started)} <small>{run.requests} requests, "
                f"{esc(', '.join(run.apis))}</small></h2>"
                + table(
                    ["List or tag", "Joined", "Left"],
                    [
                        classic.change_row(tx, account, c) if c.kind == "list" else ortto.change_row(data, c)
                        for c in changes
                    ],
                    "No changes.",
                    "changes",
                )
                for run, changes in runs
            ]
        note = (
            "<p>A run is the account's API requests with no pause longer than "
            f"{self._state.config.run_gap_seconds:g} s (run_gap_seconds); latest first.</p>"
        )
        return f"Runs of account {index}", note + ("".join(parts) or "<p>No runs yet.</p>")

    def _page(self, request: Request, index: int, kind: str, key: str) -> PageBody:
        account, base = self._state.account_ids[index], f"/_sandbox/accounts/{index}"
        query, number = _search(request)
        if kind in ("lists", "contacts"):
            with self._state.store.transaction() as tx:
                if kind == "lists":
                    return classic.members_page(tx, account, base, key, query, number)
                return classic.contact_page(tx, account, base, key)
        if kind in ("tags", "people"):
            with self._state.ortto_store.transaction(account) as data:
                if kind == "tags":
                    return ortto.holders_page(data, base, key, query, number)
                return ortto.person_page(data, base, key)
        return None


def _search(request: Request) -> tuple[str, int]:
    """The search text and page number asked for."""
    number = request.args.get("page", "1")
    return request.args.get("q", "").strip(), int(number) if number.isdigit() else 1
