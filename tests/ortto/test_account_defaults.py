"""An export whatever the account's data-source defaults: every merge names its own `async` and `merge_by`,
so an account whose key defaults to async merges or to External ID as the merge key (both set in Ortto's
app, unknown to the target) still ends with each person once, the one it already knew included, holding
exactly their segments' tags, nobody rejected, and an unchanged re-run that merges no one."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config
from tests.target.support import RunTarget, record, schema

UNFRIENDLY = {
    "async": {"ortto_default_async": "async"},
    "ei": {"ortto_default_merge_by": "str::ei"},
    "both": {"ortto_default_async": "async", "ortto_default_merge_by": "str::ei"},
}
SEGMENTS = {"gold": range(0, 4), "churn": range(2, 6)}  # p2 and p3 are in both
EXPECTED = {title: [f"p{n}@example.com" for n in numbers] for title, numbers in SEGMENTS.items()}


def messages() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for title, numbers in SEGMENTS.items():
        found.append(schema(title, {"email": {"type": ["string"]}, "first_name": {"type": ["string"]}}))
        found += [record(title, email=f"p{n}@example.com", first_name=f"P{n}") for n in numbers]
    return found


def already_known(sandbox: Sandbox, email: str) -> None:
    """A person Ortto knew before the first export (a sign-up form), sent with explicit options."""
    answer = requests.post(
        f"{sandbox.base_url}/person/merge",
        json={"people": [{"fields": {"str::email": email}}], "merge_by": ["str::email"], "async": False},
        headers={"X-Api-Key": sandbox.api_key},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def tags_by_email(sandbox: Sandbox) -> dict[str, list[list[str]]]:
    """Each email in Ortto → the sorted tags of every person holding it (one entry: no duplicate)."""
    found: dict[str, list[list[str]]] = {}
    for person in sandbox.people():
        found.setdefault(person["fields"]["str::email"], []).append(sorted(person["tags"]))
    return found


@pytest.mark.parametrize("sandbox", list(UNFRIENDLY.values()), indirect=True, ids=list(UNFRIENDLY))
def test_an_account_defaulting_to_async_or_external_id_gets_each_person_once(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = ortto_config(sandbox)
    already_known(sandbox, "p0@example.com")
    sandbox.reset_stats()

    first = run_target(config, messages())

    assert first.code == 0, first.stderr
    assert first.rejected == []
    assert tags_by_email(sandbox) == {
        f"p{n}@example.com": [sorted(title for title, numbers in SEGMENTS.items() if n in numbers)]
        for n in range(6)
    }
    assert sandbox.tags() == EXPECTED
    assert first.report["upserted"] == 6
    assert first.report["rejected"] == {}
    assert {title: s["memberships_added"] for title, s in first.report["segments"].items()} == {
        "gold": 4,
        "churn": 4,
    }
    assert merges(sandbox.stats()) == {"200": 1}
    sandbox.reset_stats()

    again = run_target(config, messages())

    assert again.code == 0, again.stderr
    assert again.rejected == []
    assert merges(sandbox.stats()) == {}
    assert (again.report["upserted"], again.report["unchanged"], again.report["rejected"]) == (0, 6, {})
    assert len(sandbox.people()) == 6
    assert sandbox.tags() == EXPECTED
