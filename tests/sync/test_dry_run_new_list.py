"""A dry run's plan for a list it would create: no members now, every profile to add."""

from __future__ import annotations

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, target_config


def test_a_list_to_create_has_no_members_now(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(
        target_config(sandbox, dry_run=True),
        [
            schema("vip", ["email"]),
            record("vip", email="a@example.com"),
            record("vip", email="b@example.com"),
        ],
    )

    assert run.code == 0, run.stderr
    plan = run.report["segments"]["vip"]["plan"]
    assert {key: value for key, value in plan.items() if key != "examples"} == {
        "list": "would be created",
        "mirrored": False,
        "members_now": 0,
        "to_add": 2,
        "to_update": 0,
        "unchanged": 0,
        "to_remove": 0,
    }
    assert "Dry run, segment 'vip': list would be created; 0 members now; 2 to add" in run.stderr
    assert sandbox.lists() == {}
