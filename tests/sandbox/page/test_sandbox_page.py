"""The sandbox's pages in a real headless Chromium: overview → list or tag → members → one person.

Skipped only where no Chromium can be installed (`make test` installs the Debian package as root).
A screenshot of each kind of page is kept in output/browser/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from target_autopilot.sandbox import Sandbox, run_sandbox

from ..conftest import Api
from ..ortto.conftest import Ortto, person
from .browser import Chromium, Page, find_chromium

SCREENSHOTS = Path(__file__).resolve().parents[3] / "output" / "browser"


@pytest.fixture(scope="module")
def chromium() -> Chromium:
    binary = find_chromium()
    if binary is None:
        pytest.skip(
            "no Chromium on this machine: install the Debian package `chromium` "
            "(`make test` does it when run as root with apt-get)"
        )
    return Chromium(binary)


@pytest.fixture(scope="module")
def filled() -> Iterator[Sandbox]:
    """Classic: a list of two contacts. Ortto: a decimal field, 60 holders of seg:A, one also of vip."""
    with run_sandbox(rate_limit=0, ortto_rate_limit=0) as sandbox:
        _fill(sandbox)
        yield sandbox


@pytest.fixture(scope="module")
def overview(chromium: Chromium, filled: Sandbox) -> Page:
    """The overview page as Chromium rendered it."""
    return chromium.dom(f"{filled.url}/_sandbox/")


def _fill(sandbox: Sandbox) -> None:
    api = Api(sandbox.base_url, sandbox.api_key)
    list_id = api.new_list("VIP <classic>")
    api.upsert(
        Email="ada@example.com", FirstName="Ada", _autopilot_list=list_id, custom={"integer--Orders": 3}
    )
    api.upsert(Email="bob@example.com", _autopilot_list=list_id)
    ortto = Ortto(sandbox)
    ltv = ortto.field("Lifetime value", "decimal")
    people = [
        person(f"p{n:02}@example.com", tags=["seg:A"], **{"str::first": f"P{n}", ltv: 1000 * n + 500})
        for n in range(60)
    ]
    ortto.merged(*people[:50])
    ortto.merged(*people[50:])
    ortto.merged(person("p07@example.com", tags=["vip"], **{"str::last": "Seven"}))
    sandbox.create_audience("Segment A", "seg:A")


def test_tags_open_to_paged_searchable_holders_and_each_to_a_person(
    chromium: Chromium, filled: Sandbox, overview: Page
) -> None:
    assert [row[0] for row in overview.rows("tags")] == ["seg:A", "vip"]
    assert [row[2] for row in overview.rows("tags")] == ["60", "1"]
    tag_url = filled.url + overview.link("seg:A")
    first = chromium.dom(tag_url)
    assert first.title == "Tag seg:A"
    assert len(first.rows("holders")) == 50
    assert first.rows("holders")[0] == ["p00@example.com", "P0", "", "0.5"]
    second = chromium.dom(tag_url + first.link("Next"))
    assert [row[0] for row in second.rows("holders")] == [f"p{n}@example.com" for n in range(50, 60)]
    found = chromium.dom(tag_url + "?q=P07%40EXAMPLE")  # what the search form sends
    assert [row[0] for row in found.rows("holders")] == ["p07@example.com"]
    person_url = filled.url + found.link("p07@example.com")
    page = chromium.dom(person_url)
    fields = {row[0]: row[1] for row in page.rows("fields")}
    assert page.title == "Person p07@example.com"
    last, ltv, permission = (
        "Last name str::last",
        "Lifetime value int:cm:lifetime-value",
        "Email permission bol::p",
    )
    assert (fields[last], fields[ltv], fields[permission]) == (
        "Seven",
        "7.5",
        "True",
    )
    assert fields["Tags"] == "seg:A, vip"
    assert fields["Audiences"] == "Segment A (member)"
    chromium.screenshot(person_url, SCREENSHOTS / "ortto-person.png")
    assert (SCREENSHOTS / "ortto-person.png").read_bytes()[:4] == b"\x89PNG"


def test_lists_open_to_members_and_each_to_a_contact(
    chromium: Chromium, filled: Sandbox, overview: Page
) -> None:
    assert overview.rows("lists")[0][0] == "VIP <classic>"
    list_url = filled.url + overview.link("VIP <classic>")
    members = chromium.dom(list_url)
    assert members.rows("members") == [["ada@example.com", "Ada", "", "3"], ["bob@example.com", "", "", ""]]
    contact_url = filled.url + members.link("ada@example.com")
    contact = {row[0]: row[1] for row in chromium.dom(contact_url).rows("fields")}
    assert (contact["FirstName"], contact["Orders (custom)"], contact["Lists"]) == (
        "Ada",
        "3",
        "VIP <classic>",
    )
    chromium.screenshot(f"{filled.url}/_sandbox/", SCREENSHOTS / "overview.png")
    assert (SCREENSHOTS / "overview.png").stat().st_size > 1000


def test_unknown_pages_are_404s(filled: Sandbox) -> None:
    for path in ("accounts/0/tags/nope", "accounts/9/lists/x", "accounts/0/people/0", "accounts/0/what/x"):
        assert requests.get(f"{filled.url}/_sandbox/{path}", timeout=10).status_code == 404
