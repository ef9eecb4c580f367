"""Refusals Ortto does not tie to a person (unaligned, shuffled, differing details); remembered addresses."""

from __future__ import annotations

import json
from collections import Counter
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


def beside_kept(
    sandbox: Sandbox, run_target: RunTarget, config: dict[str, Any], plans: dict[str, str]
) -> list[dict[str, Any]]:
    """Export kept@ alone first; then the messages of a run where kept@ is unchanged (not sent) and
    `plans` (email → plan) are new, so a merge holds exactly them."""
    kept = run_target(
        config, [schema("vip", ["email", "plan"]), record("vip", email="kept@example.com", plan="gold")]
    )
    assert kept.code == 0, kept.stderr
    sandbox.reset_stats()
    return [
        schema("vip", ["email", "plan"]),
        record("vip", email="kept@example.com", plan="gold"),
        *(record("vip", email=email, plan=plan) for email, plan in plans.items()),
    ]


INVALID = (
    "Ortto answered invalid: failed to validate field str:cm:plan: not one of the field's values "
    "['gold', 'silver']"
)


@pytest.mark.parametrize("sandbox", [UNALIGNED], indirect=True)
@pytest.mark.parametrize(
    ("batch", "told_first", "sizes"),
    [
        (
            {"ok@example.com": "gold", "tin@example.com": "tin"},
            [("tin@example.com", "api_rejected", INVALID)],
            {"2": 1, "1": 2},
        ),
        (
            {"ok@example.com": "gold", "tin@example.com": "tin", "new@example.com": "gold"},
            [
                ("new@example.com", "suppressed", "Ortto answered suppressed: Email is suppressed"),
                ("tin@example.com", "api_rejected", INVALID),
            ],
            {"3": 1, "1": 3},
        ),
    ],
    ids=["one-of-two", "two-of-three"],
)
def test_unaligned_details_send_each_person_alone_and_the_valid_people_land(
    sandbox: Sandbox,
    run_target: RunTarget,
    batch: dict[str, str],
    told_first: list[tuple[str, str, str]],
    sizes: dict[str, int],
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])  # "tin": not one of its values, so invalid
    sandbox.suppress("new@example.com")
    config = fields_config(sandbox, max_rejected_fraction=1)
    messages = beside_kept(sandbox, run_target, config, batch)

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    assert told(run.rejected) == told_first
    stats = sandbox.stats()
    assert merges(stats) == {"400": len(batch), "200": 1}  # the batch, then each alone: one lands
    assert stats["merge_sizes"] == sizes
    assert sandbox.tags() == {"vip": ["kept@example.com", "ok@example.com"]}
    stored = {person["fields"]["str::email"]: person["fields"] for person in sandbox.people()}
    assert sorted(stored) == ["kept@example.com", "ok@example.com"]
    report = run.report
    assert (report["status"], report["upserted"], report["unchanged"]) == ("completed", 1, 1)
    assert report["rejected"] == dict(Counter(reason for _, reason, _ in told_first))
    assert report["segments"]["vip"]["memberships_added"] == 1
    assert "rejected 1 api_rejected" in run.stderr

    sandbox.reset_stats()
    second = run_target(config, messages)

    assert second.code == 0, second.stderr
    assert merges(sandbox.stats()) == {"400": 1}  # the stored one is unchanged: only the refused are sent
    again = told(second.rejected)  # a suppressed address is remembered, so not sent: told why
    assert [(email, reason) for email, reason, _ in again] == [(email, r) for email, r, _ in told_first]


@pytest.mark.parametrize("sandbox", [UNALIGNED], indirect=True)
def test_one_unaligned_refusal_costs_its_own_answer_and_the_batch_still_lands(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])
    messages = [schema("vip", ["email", "plan"])]
    messages += [
        record("vip", email=f"p{i:02}@example.com", plan="tin" if i == 7 else "gold") for i in range(12)
    ]

    run = run_target(fields_config(sandbox), messages)

    assert run.code == 0, run.stderr
    assert told(run.rejected) == [("p07@example.com", "api_rejected", INVALID)]
    assert sandbox.tags() == {"vip": [f"p{i:02}@example.com" for i in range(12) if i != 7]}
    answers = merges(sandbox.stats())
    assert answers == {"400": 2, "200": 11}  # the batch, then each alone: one 400 for the refused one
    assert run.report["rejected"] == {"api_rejected": 1}


SUPPRESSED = "Ortto answered suppressed: Email is suppressed"


@pytest.mark.parametrize(
    "sandbox",
    [{"ortto_mixed_batch": position} for position in ("per-person", "reject", "reject-unaligned")],
    indirect=True,
    ids=lambda switches: switches["ortto_mixed_batch"],
)
@pytest.mark.parametrize(
    ("batch", "outcomes", "refusals"),
    [
        (  # the details' order is not proven: each asked alone, for an answer of their own
            {"tin@example.com": "tin", "new@example.com": "gold"},
            {"tin@example.com": ("api_rejected", INVALID), "new@example.com": ("suppressed", SUPPRESSED)},
            3,
        ),
        (  # one reason: everyone's, nothing more to ask
            {"new@example.com": "gold", "also@example.com": "silver"},
            {"new@example.com": ("suppressed", SUPPRESSED), "also@example.com": ("suppressed", SUPPRESSED)},
            1,
        ),
    ],
    ids=["two-reasons", "one-reason"],
)
def test_a_batch_refused_whole_tells_each_person_their_own_reason(
    sandbox: Sandbox,
    run_target: RunTarget,
    batch: dict[str, str],
    outcomes: dict[str, tuple[str, str]],
    refusals: int,
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])
    for email in ("new@example.com", "also@example.com"):
        sandbox.suppress(email)
    messages = [schema("vip", ["email", "plan"])]
    messages += [record("vip", email=email, plan=plan) for email, plan in batch.items()]

    run = run_target(fields_config(sandbox, max_rejected_fraction=1), messages)

    assert run.code == 0, run.stderr
    assert told(run.rejected) == sorted((email, *outcomes[email]) for email in batch)
    assert merges(sandbox.stats()) == {"400": refusals}
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


# Seed 10: the details put the refusals elsewhere than at the invalid people, so the resend without
# the presumed refused is refused too (found by trying; same seed, same order).
SCRAMBLED = {"ortto_mixed_batch": "reject", "ortto_people_order": "shuffled", "seed": 10}


@pytest.mark.parametrize("sandbox", [SCRAMBLED], indirect=True, ids=["reject,shuffled"])
def test_details_out_of_request_order_send_each_person_alone_and_the_valid_ones_land(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    select_field(sandbox, "Plan", ["gold", "silver"])
    plans = {f"p{i}@example.com": "tin" if i in (1, 4) else "gold" for i in range(6)}
    invalid = ["p1@example.com", "p4@example.com"]
    config = fields_config(sandbox, max_rejected_fraction=1)
    messages = beside_kept(sandbox, run_target, config, plans)

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    assert told(run.rejected) == [(email, "api_rejected", INVALID) for email in invalid]
    stats = sandbox.stats()
    # The batch, the resend without the wrongly presumed refused, then each person alone
    assert stats["merge_sizes"] == {"6": 1, "4": 1, "1": 6}
    assert merges(stats) == {"400": 2 + 2, "200": 4}
    assert sandbox.tags() == {"vip": sorted({"kept@example.com", *plans} - set(invalid))}
    assert all(sandbox.person(email) is None for email in invalid)
    report = run.report
    assert (report["upserted"], report["unchanged"], report["rejected"]) == (4, 1, {"api_rejected": 2})
    assert report["segments"]["vip"]["memberships_added"] == 4
