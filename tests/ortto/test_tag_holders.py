"""Tag holders read the way Ortto stores tags (`u4s::t` integer ids): three runs in sequence leave
each tag held by exactly its segment in every position of the sandbox's tag-filter switch, an
account tag sharing a name and an id is never taken for a person tag, and an unchanged re-run over
an account with 3,000 bystanders costs about a dozen requests."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import ortto_config
from tests.target.support import RunTarget, record, schema

POSITIONS = ["u4s-is", "set-contains", "tag-id", "none", "ignored"]
SEGMENTS = {"seg:a": range(0, 30), "seg:b": range(20, 50), "seg:c": range(45, 60)}
BYSTANDERS = 3000


def messages(segments: dict[str, range]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for title, numbers in segments.items():
        found.append(schema(title, {"email": {"type": ["string"]}, "first_name": {"type": ["string"]}}))
        found += [record(title, email=f"p{n}@example.com", first_name=f"P{n}") for n in numbers]
    return found


def add_bystanders(sandbox: Sandbox) -> None:
    """People outside every segment, holding no tag, merged straight through the API."""
    with requests.Session() as session:
        for start in range(0, BYSTANDERS, 100):
            people = [{"fields": {"str::email": f"b{n}@example.com"}} for n in range(start, start + 100)]
            answer = session.post(
                f"{sandbox.base_url}/person/merge",
                json={"people": people, "merge_by": ["str::email"]},
                headers={"X-Api-Key": sandbox.api_key},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text


def expected(segments: dict[str, range]) -> dict[str, list[str]]:
    return {title: sorted(f"p{n}@example.com" for n in numbers) for title, numbers in segments.items()}


def person_gets(sandbox: Sandbox) -> dict[str, int]:
    return dict(sandbox.stats()["by_endpoint"].get("POST /v1/person/get", {}))


@pytest.mark.parametrize(
    "sandbox", [{"ortto_tag_filter": p} for p in POSITIONS], indirect=True, ids=POSITIONS
)
def test_three_runs_leave_each_tag_held_by_exactly_its_segment(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    position = sandbox.config()["ortto_tag_filter"]
    sandbox.add_account_tag("seg:a", count=2)  # an account tag: same name, id 2 (person tag seg:b's id)
    add_bystanders(sandbox)
    config = ortto_config(sandbox)

    first = run_target(config, messages(SEGMENTS))
    assert first.code == 0, first.stderr
    sandbox.reset_stats()

    again = run_target(config, messages(SEGMENTS))

    assert again.code == 0, again.stderr
    stats = sandbox.stats()
    assert "POST /v1/person/merge" not in stats["by_endpoint"]
    if position == "u4s-is":  # holders read by the recorded filter: 1 tags/get + 1 person/get per tag
        assert stats["requests_total"] <= 12, stats["by_endpoint"]
        assert person_gets(sandbox) == {"200": 3}
    week2 = {"seg:a": range(0, 24), "seg:b": range(20, 53), "seg:c": range(45, 60)}  # 6 leave a, 3 join b

    mirror = run_target({**config, "sync_mode": "mirror", "complete_streams": "sent"}, messages(week2))

    assert mirror.code == 0, mirror.stderr
    tags = sandbox.tags()
    assert {title: tags[title] for title in week2} == expected(week2)
    assert mirror.report["segments"]["seg:a"]["removed"] == 6
    assert mirror.report["segments"]["seg:b"]["memberships_added"] == 3
    for run in (first, again, mirror):
        assert "Object not found" not in run.stderr
    account = next(a for a in sandbox.dump()["accounts"] if a["account_id"] == sandbox.account_id)
    assert {(t["name"], t["count"]) for t in account["ortto"]["account_tags"]} >= {("seg:a", 2)}
