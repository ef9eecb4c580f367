"""Refusals Ortto does not tie to a person (unaligned or differing `details`) and remembered addresses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config, select_field
from tests.target.support import RunTarget, record, schema

UNALIGNED = {"ortto_mixed_batch": "reject-unaligned"}
AGAIN = "Sent again on the next run"


def fields_config(sandbox: Sandbox, **settings: Any) -> dict[str, Any]:
    return ortto_config(sandbox, field_mapping={"string--Plan": "plan"}, **settings)


def told(rejected: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((line["record"]["email"], line["reason"], line["message"]) for line in rejected)


@pytest.mark.parametrize("sandbox", [UNALIGNED], indirect=True)
@pytest.mark.parametrize(
    ("batch", "summary"),
    [
        ({"ok@example.com": "gold", "tin@example.com": "tin"}, "1 of a batch of 2 (1 invalid)"),
        (
            {"ok@example.com": "gold", "tin@example.com": "tin", "new@example.com": "gold"},
            "2 of a batch of 3 (1 invalid, 1 suppressed)",
        ),
    ],
    ids=["one-of-two", "two-of-three"],
)
def test_unaligned_details_reject_the_whole_batch_and_say_nobody_can_be_told_apart(
    sandbox: Sandbox, run_target: RunTarget, batch: dict[str, str], summary: str
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])  # "tin": not one of its values, so invalid
    sandbox.suppress("new@example.com")
    config = fields_config(sandbox, max_rejected_fraction=1)
    kept = run_target(
        config, [schema("vip", ["email", "plan"]), record("vip", email="kept@example.com", plan="gold")]
    )
    assert kept.code == 0, kept.stderr
    sandbox.reset_stats()
    messages = [
        schema("vip", ["email", "plan"]),
        record("vip", email="kept@example.com", plan="gold"),  # unchanged: not sent
        *(record("vip", email=email, plan=plan) for email, plan in batch.items()),
    ]

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    message = (
        f"Ortto answered refused: Ortto refused {summary} without saying who; this person may not be one "
        f"of them. {AGAIN}"
    )
    assert told(run.rejected) == sorted((email, "api_rejected", message) for email in batch)
    stats = sandbox.stats()
    assert merges(stats) == {"400": 1}  # sent once, not resent: nobody can be left out of a resend
    assert stats["merge_sizes"] == {str(len(batch)): 1}
    assert sandbox.tags() == {"vip": ["kept@example.com"]}  # nobody of the batch stored
    assert [person["fields"]["str::email"] for person in sandbox.people()] == ["kept@example.com"]
    report = run.report
    assert (report["status"], report["upserted"], report["unchanged"]) == ("completed", 0, 1)
    assert report["rejected"] == {"api_rejected": len(batch)}
    assert report["segments"]["vip"]["rejected"] == {"api_rejected": len(batch)}
    assert report["segments"]["vip"]["memberships_added"] == 0
    assert f"rejected {len(batch)} api_rejected" in run.stderr

    sandbox.reset_stats()
    second = run_target(config, messages)

    assert second.code == 0, second.stderr
    assert merges(sandbox.stats()) == {"400": 1}  # as promised, sent again (a suppressed one too)
    assert told(second.rejected) == told(run.rejected)


@pytest.mark.parametrize("sandbox", [UNALIGNED], indirect=True)
def test_unaligned_details_count_against_max_rejected_fraction(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])
    messages = [schema("vip", ["email", "plan"])]
    messages += [
        record("vip", email=f"p{i}@example.com", plan="tin" if i == 7 else "gold") for i in range(12)
    ]

    run = run_target(fields_config(sandbox), messages)

    assert run.code == 1
    assert run.states == []
    assert run.report["status"] == "failed"
    assert run.report["failure"].startswith(
        "12 of the run's 12 records were rejected (100%), more than max_rejected_fraction = 0.5 allows"
    )
    assert {line["reason"] for line in run.rejected} == {"api_rejected"}
    assert sandbox.tags() == {}


@pytest.mark.parametrize(
    "sandbox",
    [{"ortto_mixed_batch": position} for position in ("per-person", "reject", "reject-unaligned")],
    indirect=True,
    ids=lambda switches: switches["ortto_mixed_batch"],
)
@pytest.mark.parametrize(
    ("batch", "reason", "message"),
    [
        (
            {"tin@example.com": "tin", "new@example.com": "gold"},  # the details' order is not trusted
            "api_rejected",
            "Ortto answered refused: Ortto refused 2 of a batch of 2 (1 invalid, 1 suppressed) "
            f"without saying which reason was this person's. {AGAIN}",
        ),
        (
            {"new@example.com": "gold", "also@example.com": "silver"},  # one reason: everyone's
            "suppressed",
            "Ortto answered suppressed: Email is suppressed",
        ),
    ],
    ids=["two-reasons", "one-reason"],
)
def test_a_batch_refused_whole_tells_each_person_their_reason_only_when_everyone_shares_it(
    sandbox: Sandbox, run_target: RunTarget, batch: dict[str, str], reason: str, message: str
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])
    for email in ("new@example.com", "also@example.com"):
        sandbox.suppress(email)
    messages = [schema("vip", ["email", "plan"])]
    messages += [record("vip", email=email, plan=plan) for email, plan in batch.items()]

    run = run_target(fields_config(sandbox, max_rejected_fraction=1), messages)

    assert run.code == 0, run.stderr
    assert told(run.rejected) == sorted((email, reason, message) for email in batch)
    assert merges(sandbox.stats()) == {"400": 1}  # nobody left to resend
    assert sandbox.people() == []


def test_a_remembered_address_is_told_until_when_and_where(sandbox: Sandbox, run_target: RunTarget) -> None:
    sandbox.suppress("s@example.com")
    messages = [schema("vip", ["email"]), record("vip", email="s@example.com")]
    config = ortto_config(sandbox, max_rejected_fraction=1)
    first = run_target(config, messages)
    assert first.code == 0, first.stderr
    remembered = first.rejected_path.parent / "autopilot-ortto-suppressed.json"
    stored = json.loads(remembered.read_text())
    stored["suppressed"] = dict.fromkeys(stored["suppressed"], 4102488000)  # 2100-01-01 12:00 UTC
    remembered.write_text(json.dumps(stored))
    sandbox.reset_stats()

    second = run_target(config, messages)

    assert second.code == 0, second.stderr
    assert told(second.rejected) == [
        (
            "s@example.com",
            "suppressed",
            "Ortto refused this address as suppressed on an earlier run; not sent again until 2100-01-01 "
            f"(remembered in {remembered}: delete that file to send it anyway)",
        )
    ]
    assert not merges(sandbox.stats())
