"""A sandbox with a control token, browsed in a real headless Chromium through its login page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox

from ..conftest import Api
from .browser import find_chromium
from .devtools import Browser

TOKEN = "tok-browser-7d2e"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium on this machine: install the Debian package `chromium`")
    with Browser(binary) as opened:
        yield opened


@pytest.fixture(scope="module")
def guarded() -> Iterator[Sandbox]:
    with run_sandbox(control_token=TOKEN, rate_limit=0) as sandbox:
        api = Api(sandbox.base_url, sandbox.api_key)
        list_id = api.new_list("Guarded list")
        api.upsert(Email="ada@example.com", _autopilot_list=list_id)
        yield sandbox


def test_the_pages_ask_for_the_token_then_browse_with_the_login_cookie(
    browser: Browser, guarded: Sandbox
) -> None:
    asked = browser.open(f"{guarded.url}/_sandbox/")
    assert (asked.title, browser.status()) == ("Log in", 401)
    assert "Guarded list" not in asked.dom

    wrong = browser.submit({"token": "not-it"})
    assert (wrong.title, browser.status()) == ("Log in", 401)
    assert "not this sandbox's control token" in wrong.dom

    overview = browser.submit({"token": TOKEN})
    assert (overview.title, browser.status()) == ("Autopilot sandbox", 200)
    assert overview.rows("lists")[0][0] == "Guarded list"
    members = browser.open(guarded.url + overview.link("Guarded list"))
    assert members.rows("members")[0][0] == "ada@example.com"
    assert TOKEN not in overview.dom + members.dom
    # The cookie holds no token, and scripts cannot read it.
    assert browser.evaluate("document.cookie") == ""


def test_a_page_asked_before_logging_in_is_shown_after_it(browser: Browser, guarded: Sandbox) -> None:
    list_id = guarded.dump()["accounts"][0]["lists"][0]["list_id"]
    binary = find_chromium()
    assert binary is not None  # the browser fixture skipped otherwise
    with Browser(binary) as fresh:  # a browser without the cookie
        asked = fresh.open(f"{guarded.url}/_sandbox/accounts/0/lists/{list_id}?q=ada")
        assert (asked.title, fresh.status()) == ("Log in", 401)
        shown = fresh.submit({"token": TOKEN})
        assert (shown.title, fresh.status()) == ("List Guarded list", 200)
        assert fresh.evaluate("location.search") == "?q=ada"
        assert shown.rows("members")[0][0] == "ada@example.com"
