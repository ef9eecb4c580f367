"""Per-person outcomes: invalid and suppressed people go to the rejected file, the rest goes through,
whichever way the sandbox answers a mixed batch, and never at the cost of Ortto's bad-request ban."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config, select_field
from tests.target.support import RunTarget, record, schema

SWITCHES = [
    {},
    {"ortto_mixed_batch": "reject"},
    {"ortto_people_order": "shuffled"},
    {"ortto_mixed_batch": "reject", "ortto_people_order": "shuffled", "seed": 1},  # an order not held
    {"ortto_mixed_batch": "reject-unaligned"},
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
    select_field(sandbox, "Plan", ["gold", "silver"])
    messages = [schema("vip", ["email", "first_name", "orders", "plan"])]
    messages += [
        record("vip", email=f"p{i}@example.com", first_name=f"P{i}", orders=str(i)) for i in range(120)
    ]
    messages += [
        record("vip", email="s1@example.com"),
        record("vip", email="long@example.com", first_name="x" * 300),
        record("vip", email="s2@example.com"),
        record("vip", email="bad@example.com", orders="many"),
        record("vip", email="tin@example.com", plan="tin"),
    ]
    config = ortto_config(sandbox, field_mapping={"integer--Orders": "orders", "string--Plan": "plan"})

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    lines = {(line["record"]["email"], line["reason"]): line["message"] for line in run.rejected}
    refused = {"s1@example.com": "Email is suppressed", "s2@example.com": "Email is suppressed"}
    refused["tin@example.com"] = "not one of the field's values"
    switches = sandbox.config()
    if switches["ortto_people_order"] == "shuffled" and switches["ortto_mixed_batch"] == "per-person":
        refused = dict.fromkeys(refused, "")  # unchecked order, reasons that differ: not told apart
    assert set(lines) == {
        ("bad@example.com", "invalid_value"),
        ("long@example.com", "value_truncated"),
        ("s1@example.com", "suppressed" if refused["s1@example.com"] else "api_rejected"),
        ("s2@example.com", "suppressed" if refused["s2@example.com"] else "api_rejected"),
        ("tin@example.com", "api_rejected"),
    }
    for (email, _), message in lines.items():
        assert refused.get(email, "") in message
    assert "cut to Ortto's limit of 255" in lines["long@example.com", "value_truncated"]
    # The dropped value is named by Ortto's field, not by the mapping's Classic-style key.
    [dropped] = [line for line in run.rejected if line["reason"] == "invalid_value"]
    assert dropped["field"] == "Orders"
    assert lines["bad@example.com", "invalid_value"].startswith("'orders' → Orders: ")
    holders = sandbox.tags()["vip"]
    assert len(holders) == 122  # 120 + bad@ (without its bad value) + long@ (its name cut)
    assert {"bad@example.com", "long@example.com"} <= set(holders)
    assert sandbox.person("long@example.com")["fields"]["str::first"] == "x" * 255  # type: ignore[index]
    assert sandbox.person("s1@example.com") is None
    assert sum(run.report["rejected"].values()) == 3
    assert run.report["values_dropped"] == 1
    stats = sandbox.stats()
    assert "429" not in stats["by_status"]  # never banned
    if switches["ortto_mixed_batch"] == "reject-unaligned":  # refusals that name nobody: the batch of
        assert merges(stats) == {"200": 1 + 22, "400": 1 + 3}  # 25 they were in sent one person at a time
    elif switches["ortto_mixed_batch"] == "reject" and switches["ortto_people_order"] == "shuffled":
        # The details' order does not hold (the resend is refused too): each person sent alone
        assert merges(stats) == {"200": 1 + 22, "400": 2 + 3}
    else:
        assert sum(merges(stats).values()) <= 2 * 2  # a resend per refused batch at most, never a split


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
