"""The people page, field names and each run's changes in a real headless Chromium, for an Ortto user."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox

from ..conftest import Api
from ..ortto.conftest import Ortto, person
from .browser import Chromium, Page, find_chromium

GAP = 0.3


@pytest.fixture(scope="module")
def chromium() -> Chromium:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium on this machine: install the Debian package `chromium`")
    return Chromium(binary)


@pytest.fixture(scope="module")
def two_runs() -> Iterator[Sandbox]:
    """Run 1 tags ada and bob with seg:A; run 2, after a pause, takes bob's last tag, tags cy, and
    (through Classic, after Ortto) puts dan on a new list and takes eve off an old one."""
    with run_sandbox(rate_limit=0, ortto_rate_limit=0, run_gap_seconds=GAP) as sandbox:
        ortto, classic = Ortto(sandbox), Api(sandbox.base_url, sandbox.api_key)
        ortto.merged(
            person("ada@example.com", tags=["seg:A"], **{"str::first": "Ada", "bol::p": True}),
            person("bob@example.com", tags=["seg:A"]),
        )
        old = classic.new_list("Old")
        classic.upsert(Email="eve@example.com", _autopilot_list=old)
        time.sleep(GAP * 3)  # the pause that ends run 1
        ortto.merged(
            {"fields": {"str::email": "bob@example.com"}, "unset_tags": ["seg:A"]},
            person("cy@example.com", tags=["seg:A"]),
        )
        classic.upsert(Email="dan@example.com", _autopilot_list=classic.new_list("New"))
        assert classic.delete(f"/list/{old}/contact/eve@example.com").status_code == 200
        yield sandbox


@pytest.fixture(scope="module")
def overview(chromium: Chromium, two_runs: Sandbox) -> Page:
    return chromium.dom(f"{two_runs.url}/_sandbox/")


def test_an_ortto_account_shows_ortto_first(overview: Page) -> None:
    sections = [part.split("</h3>")[0] for part in overview.dom.split("<h3>")[1:]]
    assert sections[0].startswith("Ortto: 3 people, 1 tags")
    assert sections[1].startswith("Classic: 2 contacts, 2 lists")
    assert "Used with: ortto, classic" in overview.dom


def test_the_people_page_finds_a_person_who_lost_the_last_tag(
    chromium: Chromium, two_runs: Sandbox, overview: Page
) -> None:
    people_url = two_runs.url + overview.link("People")
    everyone = chromium.dom(people_url)
    assert everyone.title == "People of account 0"
    assert [row[0] for row in everyone.rows("ortto-people")] == [
        "ada@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    found = chromium.dom(people_url + "?q=BOB")
    assert found.rows("ortto-people") == [["bob@example.com", "", "", "none"]]
    bob = chromium.dom(two_runs.url + found.link("bob@example.com"))
    assert bob.title == "Person bob@example.com"


def test_fields_show_their_display_name_beside_their_id(chromium: Chromium, two_runs: Sandbox) -> None:
    found = chromium.dom(f"{two_runs.url}/_sandbox/accounts/0/people?q=ada")
    ada = chromium.dom(two_runs.url + found.link("ada@example.com"))
    fields = {row[0]: row[1] for row in ada.rows("fields")}
    assert fields["First name str::first"] == "Ada"
    assert fields["Email permission bol::p"] == "True"
    assert fields["Email str::email"] == "ada@example.com"


def test_each_run_shows_who_joined_and_who_left_each_tag(
    chromium: Chromium, two_runs: Sandbox, overview: Page
) -> None:
    runs = chromium.dom(two_runs.url + overview.link("Runs"))
    assert runs.title == "Runs of account 0"
    assert runs.dom.count("Run from") == 2
    assert runs.rows("changes") == [  # latest run first
        ["list Old", "0", "1: eve@example.com"],
        ["list New", "1: dan@example.com", "0"],
        ["tag seg:A", "1: cy@example.com", "1: bob@example.com"],
        ["list Old", "1: eve@example.com", "0"],
        ["tag seg:A", "2: ada@example.com, bob@example.com", "0"],
    ]
