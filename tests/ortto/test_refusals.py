"""People Ortto refuses cost one answer, not a bisection: per-person answers read back by id, a batch
refused whole resent once without the refused people, suppressed addresses remembered for the next
run, and never one person's refusal given to another, whatever order the answer comes in."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from target_autopilot.ortto import attribution
from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config, select_field
from tests.target.support import RunTarget, record, schema

POSITIONS = [
    {"ortto_mixed_batch": mixed, "ortto_people_order": order}
    for mixed in ("per-person", "reject")
    for order in ("request", "shuffled")
]
# Refused details out of request order cost each person of their batch a merge of their own (see
# test_refusal_fallbacks.py): paced by the bad-request budget, too slow for N people here.
HELD_ORDER = [
    switches
    for switches in POSITIONS
    if switches != {"ortto_mixed_batch": "reject", "ortto_people_order": "shuffled"}
]
N = 1000  # the 5,000 (and 10,000, 100,000) are measured by benchmarks/refusals.py
BATCHES = N // 100


def ids(switches: dict[str, str]) -> str:
    return ",".join(switches.values())


def answers_4xx(stats: dict[str, Any]) -> int:
    return sum(count for status, count in stats["by_status"].items() if status.startswith("4"))


def people_sent(stats: dict[str, Any]) -> int:
    return sum(int(size) * count for size, count in stats["merge_sizes"].items())


def export(n: int) -> tuple[list[dict[str, Any]], set[str], set[str]]:
    """`n` people, every 50th suppressed and every 100th (another) with a name over 255 characters."""
    messages = [schema("vip", ["email", "first_name"])]
    suppressed, long = set(), set()
    for i in range(n):
        email = f"p{i}@example.com"
        name = f"P{i}"
        if i % 50 == 7:
            suppressed.add(email)
        if i % 100 == 31:
            long.add(email)
            name = "x" * 300
        messages.append(record("vip", email=email, first_name=name))
    return messages, suppressed, long


@pytest.mark.parametrize("sandbox", HELD_ORDER, indirect=True, ids=ids)
def test_refusals_cost_one_answer_and_an_unchanged_rerun_sends_nobody(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    messages, suppressed, long = export(N)
    for email in suppressed:
        sandbox.suppress(email)
    config = ortto_config(sandbox)

    first = run_target(config, messages)

    assert first.code == 0, first.stderr
    reasons = {(line["record"]["email"], line["reason"]) for line in first.rejected}
    assert reasons == {(e, "suppressed") for e in suppressed} | {(e, "value_truncated") for e in long}
    assert len(sandbox.tags()["vip"]) == N - len(suppressed)
    assert all(len(sandbox.person(email)["fields"]["str::first"]) == 255 for email in long)  # type: ignore[index]
    stats = sandbox.stats()
    if sandbox.config()["ortto_mixed_batch"] == "per-person":
        assert stats["requests_total"] <= 2 * BATCHES + 10
        assert answers_4xx(stats) <= 10
        assert people_sent(stats) == N  # no valid person merged twice
    else:
        assert stats["requests_total"] <= 3 * BATCHES + 10
        assert merges(stats).get("400", 0) <= BATCHES
    assert "429" not in stats["by_status"]

    sandbox.reset_stats()
    second = run_target(config, messages)

    assert second.code == 0, second.stderr
    again = sandbox.stats()
    assert again["requests_total"] <= 12
    assert answers_4xx(again) <= 3
    assert not merges(again)  # no valid person sent, nor any suppressed one
    assert sorted(
        line["record"]["email"] for line in second.rejected if line["reason"] == "suppressed"
    ) == sorted(suppressed)


@pytest.mark.parametrize("sandbox", POSITIONS, indirect=True, ids=ids)
def test_a_shuffled_answer_never_credits_one_person_with_anothers_refusal(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])
    messages = [schema("vip", ["email", "plan"])]
    truth: dict[str, str] = {}
    for i in range(150):
        email = f"p{i}@example.com"
        plan = "tin" if i % 13 == 5 else "gold"  # tin: not one of the field's values
        if plan == "tin":
            truth[email] = "invalid"  # Ortto checks values before the suppression list
        elif i % 17 == 3:
            sandbox.suppress(email)
            truth[email] = "suppressed"
        messages.append(record("vip", email=email, plan=plan))

    run = run_target(
        ortto_config(sandbox, field_mapping={"string--Plan": "plan"}, max_rejected_fraction=1), messages
    )

    assert run.code == 0, run.stderr
    told = {line["record"]["email"]: line for line in run.rejected}
    assert set(told) == set(truth)  # exactly the refused people, every valid one landed
    assert len(sandbox.tags()["vip"]) == 150 - len(truth)
    for email, line in told.items():
        if line["reason"] == "suppressed":
            assert truth[email] == "suppressed", line
        elif "not one of the field's values" in line["message"]:
            assert truth[email] == "invalid", line
        else:  # a refusal whose reason the answer did not tie to this person: says so
            assert "without saying which reason" in line["message"], line
    if sandbox.config()["ortto_people_order"] == "request":
        assert all(
            (line["reason"] == "suppressed") == (truth[email] == "suppressed") for email, line in told.items()
        )
    assert "429" not in sandbox.stats()["by_status"]


def test_remembered_addresses_are_private_and_expire(sandbox: Sandbox, run_target: RunTarget) -> None:
    emails = [f"s{i}@example.com" for i in range(30)]
    for email in emails:
        sandbox.suppress(email)
    messages = [schema("vip", ["email"]), *(record("vip", email=email) for email in emails)]
    config = ortto_config(sandbox, max_rejected_fraction=1)

    first = run_target(config, messages)
    remembered = first.rejected_path.parent / "autopilot-ortto-suppressed.json"
    second = run_target(config, messages)

    assert (first.code, second.code) == (0, 0), first.stderr + second.stderr
    assert remembered.stat().st_mode & 0o777 == 0o600
    assert "example.com" not in remembered.read_text()  # addresses only as keyed digests
    assert merges(sandbox.stats()) == {"400": 1}  # the second run sent nobody
    assert all("not sent again until" in line["message"] for line in second.rejected)
    assert len(second.rejected) == 30

    stored = json.loads(remembered.read_text())
    stored["suppressed"] = dict.fromkeys(stored["suppressed"], 0)  # expired
    remembered.write_text(json.dumps(stored))
    third = run_target(config, messages)

    assert third.code == 0, third.stderr
    assert merges(sandbox.stats()) == {"400": 2}  # sent again once the memory expired
    assert [line["reason"] for line in third.rejected] == ["suppressed"] * 30


@pytest.mark.parametrize("order", ["request", "shuffled"])
def test_a_refusal_follows_its_position_only_when_the_applied_ids_prove_the_order(order: str) -> None:
    emails = ["a@x.io", "b@x.io", "c@x.io", "d@x.io"]
    suppressed = {"status": "suppressed", "error": "Email is suppressed"}
    invalid = {"status": "invalid", "error": "failed to validate field str:cm:plan"}
    entries: list[dict[str, Any]] = [
        {"person_id": "1", "status": "created"}, suppressed, {"person_id": "2", "status": "merged"}, invalid,
    ]  # fmt: skip
    if order == "shuffled":
        entries = [entries[2], entries[3], entries[0], entries[1]]

    found = attribution.attribute(emails, entries, {"1": "a@x.io", "2": "C@x.io"})

    assert found is not None
    applied, b, c, d = found.refusals
    assert applied is None
    assert c is None
    if order == "request":
        assert (b, d) == (suppressed, invalid)
    else:
        assert b == d
        assert b is not None
        assert "without saying which reason" in b["error"]
    assert attribution.attribute(emails, entries, {"1": "a@x.io", "2": "z@x.io"}) is None  # does not add up


def test_a_remembered_address_that_now_holds_a_tag_is_sent(sandbox: Sandbox, run_target: RunTarget) -> None:
    sandbox.suppress("s@example.com")
    config = ortto_config(sandbox, max_rejected_fraction=1)
    first = run_target(config, [schema("vip", ["email", "first_name"]), record("vip", email="s@example.com")])
    answer = requests.post(  # someone adds the person by hand, suppression list or not
        f"{sandbox.base_url}/person/merge",
        headers={"X-Api-Key": sandbox.api_key},
        json={"people": [{"fields": {"str::email": "s@example.com"}, "tags": ["vip"]}]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    second = run_target(
        config, [schema("vip", ["email", "first_name"]), record("vip", email="s@example.com", first_name="S")]
    )

    assert [line["reason"] for line in first.rejected] == ["suppressed"]
    assert second.code == 0, second.stderr
    assert second.rejected == []
    assert sandbox.person("s@example.com")["fields"]["str::first"] == "S"  # type: ignore[index]


@pytest.mark.parametrize("mode", ["drop_value", "reject_record"])
def test_values_ortto_would_refuse_never_reach_it(sandbox: Sandbox, run_target: RunTarget, mode: str) -> None:
    messages = [
        schema(
            "vip",
            {"email": {"type": "string"}, "first_name": {"type": "string"}, "orders": {"type": "integer"}},
        ),
        record("vip", email="big@example.com", orders=2**63),
        record("vip", email="long@example.com", first_name="é" * 256),
        record("vip", email="ok@example.com", first_name="é" * 255, orders=2**63 - 1),
    ]
    config = ortto_config(
        sandbox, field_mapping={"integer--Orders": "orders"}, on_invalid_value=mode, max_rejected_fraction=1
    )

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    lines = {line["record"]["email"]: line for line in run.rejected}
    assert set(lines) == {"big@example.com", "long@example.com"}
    assert "outside the whole numbers Ortto stores" in lines["big@example.com"]["message"]
    assert "256 characters" in lines["long@example.com"]["message"]
    if mode == "drop_value":
        assert lines["long@example.com"]["reason"] == "value_truncated"
        assert sorted(sandbox.tags()["vip"]) == ["big@example.com", "long@example.com", "ok@example.com"]
    else:
        assert {line["reason"] for line in lines.values()} == {"invalid_value"}
        assert sandbox.tags()["vip"] == ["ok@example.com"]
    assert "400" not in merges(sandbox.stats())
