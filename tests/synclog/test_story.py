"""A person's story in the sync log over four runs, told by `autopilot-sync-log why` in each API's words;
dry runs logged without touching `snapshot`."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import ortto_config
from tests.synclog.support import json_lines, run_ids, sync_log, table, why
from tests.target.support import RunTarget, record, schema, target_config

STORY = {  # what `why` says, newest first
    "classic": [
        "removed from list Churn risk",
        "rejected from list Churn risk, invalid email",
        "unchanged, in list Churn risk",
        "added to list Churn risk",
    ],
    "ortto": [
        "tag Churn risk removed",
        "rejected, not tagged Churn risk, invalid email",
        "unchanged, tagged Churn risk",
        "tagged Churn risk",
    ],
}


def config(api: str, sandbox: Sandbox, log: Path, **settings: Any) -> dict[str, Any]:
    make = target_config if api == "classic" else ortto_config
    return make(sandbox, segments={"churn": "Churn risk"}, sync_log_path=str(log), **settings)


def churn(*emails: str) -> list[dict[str, Any]]:
    return [schema("churn", ["email", "first_name"])] + [
        record("churn", email=email, first_name=email.split("@")[0].title()) for email in emails
    ]


def members(sandbox: Sandbox, api: str) -> list[str]:
    held = sandbox.lists() if api == "classic" else sandbox.tags()
    return held.get("Churn risk", [])


OTHERS = ("bob@example.com", "cy@example.com", "dee@example.com")


@pytest.mark.parametrize("api", ["classic", "ortto"])
def test_why_tells_a_persons_four_runs_in_order(
    api: str, sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    log = tmp_path / "sync-log.sqlite"
    add = config(api, sandbox, log)
    runs = [
        run_target(add, churn("ann@example.com", *OTHERS)),  # added
        run_target(add, churn("ann@example.com", *OTHERS)),  # unchanged
        run_target(add, churn("Ann Lee <ann@example.com>", *OTHERS)),  # a bad email: rejected
        run_target(config(api, sandbox, log, sync_mode="mirror", complete_streams="sent"), churn(*OTHERS)),
    ]

    assert [run.code for run in runs] == [0, 0, 0, 0], runs[-1].stderr
    assert members(sandbox, api) == sorted(OTHERS)
    ids = run_ids(log)
    assert len(ids) == 4
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = why(log, "Ann@Example.com")
    assert len(lines) == 4, lines
    for line, run_id, words in zip(lines, ids, STORY[api], strict=True):
        assert line.startswith(f"{today} run {run_id}: {words}"), line
    rejected = runs[2].rejected[0]
    assert rejected["message"] in lines[1]  # the rejected file's message, and its reason code:
    entries = json_lines(sync_log("why", "ann@example.com", "--json", "--log", str(log)).stdout)
    assert [(e["operation"], e["reason"]) for e in entries] == [
        ("removed", None),
        ("rejected", rejected["reason"]),
        ("unchanged", None),
        ("added", None),
    ]
    snapshot = table(log, "SELECT email, state, since_run, last_run FROM snapshot ORDER BY email")
    newest, _, _, oldest = ids
    assert snapshot == [
        ("ann@example.com", "left", newest, newest),
        *[(email, "member", oldest, newest) for email in OTHERS],
    ]
    assert [run.states for run in runs] == [[], [], [], []]  # stdout holds STATE only: no log lines


@pytest.mark.parametrize("api", ["classic", "ortto"])
def test_a_dry_run_is_logged_as_planned_and_leaves_the_snapshot_alone(
    api: str, sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    log = tmp_path / "sync-log.sqlite"
    messages = [
        schema("churn", ["email", "orders"]),
        record("churn", email="ann@example.com", orders="7"),
        record("churn", email="bob@example.com", orders="seven"),  # exported without Orders
    ]
    orders = {"integer--Orders": "orders"}

    dry = run_target(config(api, sandbox, log, dry_run=True, field_mapping=orders), messages)

    assert dry.code == 0, dry.stderr
    assert members(sandbox, api) == []
    [run] = json_lines(sync_log("runs", "--json", "--log", str(log)).stdout)
    assert (run["dry_run"], run["status"]) == (True, "dry_run")
    assert run["changes"] == {"planned_added": 2, "value_dropped": 1}
    assert run["finished_at"] is not None
    assert table(log, "SELECT count(*) FROM snapshot") == [(0,)]
    assert why(log, "ann@example.com")[0].endswith(f"dry run, planned: {STORY[api][-1]}")

    real = run_target(config(api, sandbox, log, field_mapping=orders), messages)

    assert real.code == 0, real.stderr
    bob = json_lines(sync_log("why", "bob@example.com", "--json", "--log", str(log)).stdout)
    assert [(e["operation"], e["reason"], e["dry_run"]) for e in bob[:2]] == [
        ("value_dropped", "invalid_value", False),
        ("added", None, False),
    ]
    assert real.rejected[0]["message"] == bob[0]["message"]
    assert table(log, "SELECT email, state FROM snapshot ORDER BY email") == [
        ("ann@example.com", "member"),
        ("bob@example.com", "member"),
    ]
    assert len(why(log, "ann@example.com", "--segment", "Churn risk")) == 2


def test_a_person_the_api_refuses_is_logged_rejected_with_its_words(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    log = tmp_path / "sync-log.sqlite"
    sandbox.suppress("sue@example.com")

    run = run_target(config("ortto", sandbox, log), churn("ann@example.com", "sue@example.com"))

    assert run.code == 0, run.stderr
    assert members(sandbox, "ortto") == ["ann@example.com"]
    [refused] = run.rejected
    [line] = why(log, "sue@example.com")
    assert line.endswith(f"rejected, not tagged Churn risk, suppressed in Ortto ({refused['message']})")
    assert table(log, "SELECT email, operation, reason FROM changes ORDER BY email") == [
        ("ann@example.com", "added", None),
        ("sue@example.com", "rejected", refused["reason"]),
    ]
    assert table(log, "SELECT email, state FROM snapshot ORDER BY email") == [
        ("ann@example.com", "member"),
        ("sue@example.com", "rejected"),
    ]
