"""Dry run: everything is read and planned, nothing is written, no STATE goes out."""

from __future__ import annotations

from typing import Any

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, activate_version, record, schema, state, target_config

VIP = 250  # three member pages


def vip(*numbers: int, changed: int | None = None) -> list[dict[str, Any]]:
    return [
        record("vip", email=f"p{i}@example.com", first_name="Changed" if i == changed else f"P{i}")
        for i in numbers
    ]


def test_a_dry_run_reads_plans_and_writes_nothing(sandbox: Sandbox, run_target: RunTarget) -> None:
    people = schema("vip", ["email", "first_name"])
    assert run_target(target_config(sandbox), [people, *vip(*range(VIP))]).code == 0
    before = sandbox.dump()
    sandbox.reset_stats()
    this_week = [
        people,
        activate_version("vip"),
        *vip(*range(2, VIP + 1), changed=5),  # p0 and p1 left, p250 joined, p5 changed
        record("vip", email="not an email"),
        schema("gold", ["email", "first_name"]),
        *[record("gold", email=f"g{i}@example.com") for i in range(3)],
        state({"week": 2}),
    ]
    config = target_config(sandbox, sync_mode="mirror", dry_run=True)

    run = run_target(config, this_week)

    assert run.code == 0, run.stderr
    stats = sandbox.stats()
    assert all(endpoint.startswith("GET ") for endpoint in stats["by_endpoint"])
    assert stats["requests_total"] == 2 + 3  # account, lists, the list's member pages
    assert sandbox.dump() == before  # no list created, no contact, no membership touched
    assert run.states == []  # so the next real run sends everything
    report = run.report
    assert report["status"] == "dry_run"
    plan = report["segments"]["vip"]["plan"]
    assert {key: plan[key] for key in ("list", "mirrored", "members_now", "to_add", "to_update")} == {
        "list": "exists",
        "mirrored": True,
        "members_now": VIP,
        "to_add": 1,
        "to_update": 1,
    }
    assert (plan["unchanged"], plan["to_remove"]) == (VIP - 3, 2)
    assert plan["examples"]["to_add"] == ["p250@example.com"]
    assert plan["examples"]["to_update"] == ["p5@example.com"]
    assert plan["examples"]["to_remove"] == ["p0@example.com", "p1@example.com"]
    assert len(plan["examples"]["unchanged"]) == 20
    assert report["segments"]["vip"]["rejected"] == {"invalid_email": 1}
    gold = report["segments"]["gold"]["plan"]
    assert (gold["list"], gold["mirrored"], gold["to_add"]) == ("would be created", False, 3)
    assert (
        "Dry run, segment 'vip': list exists (mirrored); 250 members now; 1 to add, 1 to update, "
        in run.stderr
    )

    emptied = run_target(config, [people, activate_version("vip"), state({"week": 3})])

    assert emptied.code == 1, emptied.stderr  # the real run's verdict and exit code
    assert "Dry run: a real run would stop here. Mirror guard" in emptied.stderr
    assert "Dry run: the real run would fail" in emptied.stderr.strip().splitlines()[-1]
    assert "'vip' holds 250 members and would lose 250" in emptied.report["guard"]
    assert sandbox.dump() == before
    assert emptied.states == []
