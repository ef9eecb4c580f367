"""The plan as a user reads it: a dry run's example emails per category in the report, and each
person's planned or done operation in the sync log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from target_autopilot.sandbox import Sandbox
from tests.synclog.support import table, why
from tests.target.support import RunTarget, activate_version, record, schema, target_config

PEOPLE = ["email", "first_name"]


def vip(*emails: str, changed: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        record("vip", email=f"{name}@example.com", first_name="Changed" if name in changed else name.title())
        for name in emails
    ]


def emails(*names: str) -> list[str]:
    return [f"{name}@example.com" for name in names]


NEW = [f"n{i:02d}" for i in range(22, 0, -1)]  # 22 newcomers, arriving last name first


def test_a_dry_runs_examples_are_the_first_20_of_each_category_in_arrival_order(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """Members to add, update and keep are listed as they arrived; leavers by email."""
    assert (
        run_target(
            target_config(sandbox),
            [schema("vip", PEOPLE), *vip("r2", "u1", "c1", "r3", "u2", "r1", "c2", "u3")],
        ).code
        == 0
    )
    messages = [
        schema("vip", PEOPLE),
        activate_version("vip"),
        *vip("u3", "c2", *NEW, "u1", "c1", "u2", changed=("c1", "c2")),
        schema("gold", PEOPLE),
        record("gold", email="g@example.com"),
    ]

    run = run_target(target_config(sandbox, sync_mode="mirror", dry_run=True), messages)

    assert run.code == 0, run.stderr
    segments = run.report["segments"]
    assert segments["vip"]["plan"]["examples"] == {
        "to_add": emails(*NEW[:20]),
        "to_update": emails("c2", "c1"),
        "unchanged": emails("u3", "u1", "u2"),
        "to_remove": emails("r1", "r2", "r3"),
    }
    assert segments["gold"]["plan"]["examples"] == {
        "to_add": ["g@example.com"],
        "to_update": [],
        "unchanged": [],
        "to_remove": [],
    }


def test_the_sync_log_holds_each_persons_planned_then_done_operation(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    """The dry run's log says what the real run's log then says it did, `planned_` before each."""
    config = target_config(sandbox, sync_mode="mirror")
    assert run_target(config, [schema("vip", PEOPLE), *vip("same", "edit", "gone")]).code == 0
    week = [schema("vip", PEOPLE), activate_version("vip"), *vip("same", "edit", "new", changed=("edit",))]
    # A log each: two runs in one second of one process would share a run id (--target-in-process).
    planned, done = tmp_path / "planned.sqlite", tmp_path / "done.sqlite"

    dry = run_target({**config, "dry_run": True, "sync_log_path": str(planned)}, week)
    real = run_target({**config, "sync_log_path": str(done)}, week)

    assert (dry.code, real.code) == (0, 0), dry.stderr + real.stderr
    operations = "SELECT email, segment, operation, reason, message FROM changes ORDER BY email"
    expected = [
        ("edit@example.com", "vip", "updated", None, None),
        ("gone@example.com", "vip", "removed", None, None),
        ("new@example.com", "vip", "added", None, None),
        ("same@example.com", "vip", "unchanged", None, None),
    ]
    assert table(done, operations) == expected
    assert table(planned, operations) == [(e, s, f"planned_{op}", r, m) for e, s, op, r, m in expected]
    assert table(done, "SELECT email, state FROM snapshot ORDER BY email") == [
        ("edit@example.com", "member"),
        ("gone@example.com", "left"),
        ("new@example.com", "member"),
        ("same@example.com", "member"),
    ]
    assert why(done, "edit@example.com")[0].endswith(": updated, in list vip")
    assert why(planned, "edit@example.com")[0].endswith(": dry run, planned: updated, in list vip")


def test_a_removal_autopilot_refuses_is_logged_as_rejected_with_its_reason(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    log = tmp_path / "sync-log.sqlite"
    config = target_config(sandbox, sync_mode="mirror", max_removal_fraction=1)
    assert run_target(config, [schema("vip", PEOPLE), *vip("ada", "bob")]).code == 0
    sandbox.configure(refuse=["DELETE /v1/list/{list_id}/contact/{contact}"])

    run = run_target(
        {**config, "sync_log_path": str(log)}, [schema("vip", PEOPLE), activate_version("vip"), *vip("ada")]
    )

    assert run.code == 0, run.stderr
    [refused] = run.rejected
    assert (refused["stream"], refused["reason"], refused["record"]) == (
        "vip",
        "removal_rejected",
        {"email": "bob@example.com", "list": "vip"},
    )
    assert table(log, "SELECT email, segment, operation, reason, message FROM changes ORDER BY email") == [
        ("ada@example.com", "vip", "unchanged", None, None),
        ("bob@example.com", "vip", "rejected", "removal_rejected", refused["message"]),
    ]
    assert sandbox.lists() == {"vip": ["ada@example.com", "bob@example.com"]}
