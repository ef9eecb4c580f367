"""The control API under /_sandbox/: statistics, reset, settings, dump, custom fields, the page."""

from __future__ import annotations

import json

import pytest
import requests

from target_autopilot.sandbox import Sandbox, SandboxError
from tests.polling import in_one_second

from .conftest import Api


def test_stats_count_by_method_template_and_status(api: Api, sandbox: Sandbox) -> None:
    def requests() -> None:
        list_id = api.new_list("L")
        api.upsert(Email="a@example.com")
        api.post(f"/list/{list_id}/contact/a%40example.com")
        api.post(f"/list/{list_id}/contact/nobody%40example.com")
        api.post("/contacts", json={"contacts": [{"Email": f"b{i}@example.com"} for i in range(3)]})
        api.get("/lists", key="wrong")

    in_one_second(requests, again=sandbox.reset)  # the five admitted ones in one rate window
    stats = sandbox.stats()
    assert stats["requests_total"] == 6
    assert stats["by_endpoint"]["POST /v1/list/{list_id}/contact/{contact}"] == {"200": 1, "404": 1}
    assert stats["by_endpoint"]["GET /v1/lists"] == {"401": 1}
    assert stats["by_status"] == {"200": 4, "404": 1, "401": 1}
    assert stats["bulk_sizes"] == {"3": 1}
    assert stats["max_requests_in_one_second"][sandbox.account_id] == 5
    assert stats["recent_requests"][-1]["status"] == "401"


def test_reset_forgets_data_and_stats(api: Api, sandbox: Sandbox) -> None:
    api.new_list("L")
    sandbox.reset()
    assert sandbox.lists() == {}
    assert sandbox.stats()["requests_total"] == 0


def test_stats_reset_keeps_the_data(api: Api, sandbox: Sandbox) -> None:
    api.new_list("L")
    sandbox.reset_stats()
    assert sandbox.stats()["requests_total"] == 0
    assert sandbox.lists() == {"L": []}


def test_dump_names_accounts_without_their_keys(api: Api, sandbox: Sandbox) -> None:
    list_id = api.new_list("L")
    api.upsert(Email="a@example.com", _autopilot_list=list_id, custom={"integer--Orders": 2})
    dump = sandbox.dump()
    assert sandbox.api_key not in json.dumps(dump)
    account = dump["accounts"][0]
    assert (account["index"], account["account_id"]) == (0, sandbox.account_id)
    assert account["lists"] == [{"list_id": list_id, "title": "L", "members": ["a@example.com"]}]
    assert account["custom_fields"] == [{"name": "Orders", "fieldType": "integer"}]
    assert account["contacts"][0]["custom_fields"] == [{"kind": "Orders", "value": 2, "fieldType": "integer"}]


def test_config_reads_and_refuses_bad_changes(sandbox: Sandbox) -> None:
    assert sandbox.config()["rate_limit"] == 0
    assert sandbox.configure(fault_kinds="500,drop")["fault_kinds"] == ["500", "drop"]
    for bad in (
        {"port": 1},
        {"no_such": 1},
        {"fault_rate": 2},
        {"custom_fields": "maybe"},
        {"rate_limit": "5"},
    ):
        with pytest.raises(SandboxError):
            sandbox.configure(**bad)
    assert "api_keys" not in sandbox.config()


def test_custom_fields_can_be_pre_created_once(sandbox: Sandbox) -> None:
    sandbox.create_custom_field("Tier", "string")
    sandbox.create_custom_field("Tier", "string")
    with pytest.raises(SandboxError, match="already exists"):
        sandbox.create_custom_field("Tier", "integer")
    with pytest.raises(SandboxError):
        sandbox.create_custom_field("Tier", "text")


def test_the_page_shows_lists_counts_and_latest_requests(api: Api, sandbox: Sandbox) -> None:
    list_id = api.new_list("Newsletter <weekly>")
    api.upsert(Email="a@example.com", _autopilot_list=list_id)
    page = requests.get(f"{sandbox.url}/_sandbox/", timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Newsletter &lt;weekly&gt;" in page.text
    assert "<td>1</td>" in page.text
    assert "/v1/contact" in page.text


def test_unknown_control_paths_are_404s(sandbox: Sandbox) -> None:
    assert requests.get(f"{sandbox.url}/_sandbox/nothing", timeout=10).status_code == 404
    assert requests.get(f"{sandbox.url}/_sandbox/reset", timeout=10).status_code == 405


def test_the_runs_page_of_an_account_without_a_run_answers(sandbox: Sandbox) -> None:
    # Found in a random order: a reset before the page left no run, and the page failed with a 500.
    response = requests.get(f"{sandbox.url}/_sandbox/accounts/0/runs", timeout=10)
    assert response.status_code == 200
