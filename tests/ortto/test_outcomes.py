"""Per-person outcomes: invalid and suppressed people go to the rejected file, the rest goes through,
whichever way the sandbox answers a mixed batch, and never at the cost of Ortto's bad-request ban."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config
from tests.target.support import RunTarget, record, schema

SWITCHES = [
    {},
    {"ortto_mixed_batch": "reject"},
    {"ortto_people_order": "shuffled"},
    {"ortto_mixed_batch": "reject", "ortto_people_order": "shuffled"},
    {"ortto_async": "applied"},
]


@pytest.mark.parametrize(
    "sandbox", SWITCHES, indirect=True, ids=lambda s: ",".join(map(str, s.values())) or "defaults"
)
def test_invalid_and_suppressed_people_are_rejected_with_the_apis_words(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    for email in ("s1@example.com", "s2@example.com"):
        sandbox.suppress(email)
    messages = [schema("vip", ["email", "first_name", "orders"])]
    messages += [
        record("vip", email=f"p{i}@example.com", first_name=f"P{i}", orders=str(i)) for i in range(120)
    ]
    messages += [
        record("vip", email="s1@example.com"),
        record("vip", email="long@example.com", first_name="x" * 300),
        record("vip", email="s2@example.com"),
        record("vip", email="bad@example.com", orders="many"),
    ]
    config = ortto_config(sandbox, field_mapping={"integer--Orders": "orders"})

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    by_reason: dict[str, list[str]] = {}
    for line in run.rejected:
        by_reason.setdefault(line["reason"], []).append(line["record"]["email"])
    assert sorted(by_reason["suppressed"]) == ["s1@example.com", "s2@example.com"]
    assert by_reason["api_rejected"] == ["long@example.com"]
    assert by_reason["invalid_value"] == ["bad@example.com"]
    messages_by_email = {line["record"]["email"]: line["message"] for line in run.rejected}
    assert "Email is suppressed" in messages_by_email["s1@example.com"]
    assert "longer than 255" in messages_by_email["long@example.com"]
    # The dropped value is named by Ortto's field, not by the mapping's Classic-style key.
    [dropped] = [line for line in run.rejected if line["reason"] == "invalid_value"]
    assert dropped["field"] == "Orders"
    assert messages_by_email["bad@example.com"].startswith("'orders' → Orders: ")
    holders = sandbox.tags()["vip"]
    assert len(holders) == 121  # 120 + bad@ (exported without its bad value)
    assert "bad@example.com" in holders
    assert sandbox.person("s1@example.com") is None
    assert run.report["rejected"] == {"suppressed": 2, "api_rejected": 1}
    assert run.report["values_dropped"] == 1
    stats = sandbox.stats()
    assert "429" not in stats["by_status"]  # never banned
    assert sum(merges(stats).values()) <= 2 + 4 * 8  # halving: a few requests per bad person, not one each


def test_a_batch_of_suppressed_people_costs_one_request(sandbox: Sandbox, run_target: RunTarget) -> None:
    emails = [f"s{i}@example.com" for i in range(30)]
    for email in emails:
        sandbox.suppress(email)

    run = run_target(
        ortto_config(sandbox, max_rejected_fraction=1),
        [schema("vip", ["email"]), *(record("vip", email=email) for email in emails)],
    )

    assert run.code == 0, run.stderr
    assert [line["reason"] for line in run.rejected] == ["suppressed"] * 30
    assert merges(sandbox.stats()) == {"400": 1}
