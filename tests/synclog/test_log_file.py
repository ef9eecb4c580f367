"""The sync log as a file: 0600, kept `keep_run_files` days, readable and appendable after a SIGKILL,
nothing from a run the guard stopped, shared by two runs at once, an unwritable path stopping the run
before anything is sent, and the command's own mistakes."""

from __future__ import annotations

import signal
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from target_autopilot.sandbox import Sandbox
from tests.faults.test_faults import profiles, start_target, wait_for_upserts
from tests.synclog.support import json_lines, run_ids, sync_log, table, why
from tests.target.support import RunTarget, record, run_cli, schema, target_config, writes


def people(*emails: str) -> list[dict[str, object]]:
    return [schema("vip", ["email"]), *[record("vip", email=email) for email in emails]]


def test_the_log_is_private_and_forgets_runs_older_than_keep_run_files(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "sync-log.sqlite"
    config = target_config(sandbox, sync_log_path=str(log), keep_run_files=30)
    assert run_target(config, people("old@example.com")).code == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    [old] = run_ids(log)
    # The first run is 31 days old now (a test cannot wait a month).
    table(log, "UPDATE runs SET started_at = datetime('now', '-31 days') RETURNING run_id")

    second = run_target(config, people("new@example.com"))

    assert second.code == 0, second.stderr
    assert old not in run_ids(log)
    assert len(run_ids(log)) == 1
    assert table(log, "SELECT count(*) FROM changes WHERE run_id = ?", old) == [(0,)]
    assert table(log, "SELECT email FROM snapshot") == [("new@example.com",)]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert f"This run's sync log: {log}" in second.stderr
    nobody = sync_log("why", "old@example.com", "--log", str(log))
    assert nobody.returncode == 1
    assert "decided anything about old@example.com" in nobody.stdout

    table(log, "UPDATE runs SET started_at = datetime('now', '-400 days') RETURNING run_id")
    assert run_target({**config, "keep_run_files": 0}, people("new@example.com")).code == 0
    assert len(run_ids(log)) == 2  # 0 keeps every run


@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off", "latency_ms": 20}], indirect=True)
def test_a_run_killed_with_sigkill_leaves_a_log_the_next_run_reads_and_appends_to(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    log = tmp_path / "sync-log.sqlite"
    config = target_config(
        sandbox, requests_per_second=40, list_assignment="per_contact", sync_log_path=str(log)
    )
    messages = profiles(120)
    process = start_target(config, messages, tmp_path)
    wait_for_upserts(sandbox)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    [killed] = json_lines(sync_log("runs", "--json", "--log", str(log)).stdout)
    assert (killed["status"], killed["finished_at"], killed["changes"]) == ("running", None, {})
    assert "→ not finished" in sync_log("runs", "--log", str(log)).stdout
    assert table(log, "PRAGMA integrity_check") == [("ok",)]

    rerun = run_target({**config, "requests_per_second": 500}, messages)

    assert rerun.code == 0, rerun.stderr
    newest, older = run_ids(log)
    assert older == killed["run_id"]
    lines = why(log, "person7@example.com")
    assert lines
    assert all(f" run {newest}: " in line for line in lines)  # the killed run added none of its changes
    assert table(log, "SELECT status FROM runs WHERE run_id = ?", newest) == [("completed",)]


def test_a_run_the_mirror_guard_stops_logs_no_change(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    log = tmp_path / "sync-log.sqlite"
    config = target_config(sandbox, sync_log_path=str(log))
    assert run_target(config, people("a@example.com", "b@example.com")).code == 0
    mirror = {**config, "sync_mode": "mirror", "complete_streams": "sent"}

    stopped = run_target(mirror, people("c@example.com"))  # a and b would leave: the guard stops it

    assert stopped.code != 0
    assert "Mirror guard" in stopped.stderr
    newest, _ = run_ids(log)
    assert table(log, "SELECT status FROM runs WHERE run_id = ?", newest) == [("failed",)]
    assert table(log, "SELECT count(*) FROM changes WHERE run_id = ?", newest) == [(0,)]
    assert len(why(log, "a@example.com")) == 1


def test_two_runs_at_once_share_one_log(sandbox: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "sync-log.sqlite"
    config = target_config(sandbox, sync_log_path=str(log))
    inputs = {
        "vip": people("a@example.com", "b@example.com"),
        "new": [schema("new", ["email"]), record("new", email="c@example.com")],
    }
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda name: run_cli(tmp_path, config, inputs[name], name=name), inputs))

    assert [run.code for run in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    assert table(log, "SELECT status, count(*) FROM runs GROUP BY status") == [("completed", 2)]
    assert table(log, "SELECT segment, email, state FROM snapshot ORDER BY email") == [
        ("vip", "a@example.com", "member"),
        ("vip", "b@example.com", "member"),
        ("new", "c@example.com", "member"),
    ]


def test_an_unwritable_log_stops_the_run_before_anything_is_sent(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    run = run_target(target_config(sandbox, sync_log_path=str(tmp_path)), people("a@example.com"))

    assert run.code != 0
    assert f"sync_log_path {str(tmp_path)!r} cannot be written" in run.stderr
    assert "Traceback" not in run.stderr
    assert writes(sandbox.stats()) == 0


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["runs"], 2, "Which sync log? Give --log PATH"),
        (["runs", "--log", "/nonexistent/sync-log.sqlite"], 2, "No sync log at /nonexistent/sync-log.sqlite"),
    ],
)
def test_the_command_says_which_log_it_needs(args: list[str], code: int, says: str) -> None:
    done = sync_log(*args)

    assert done.returncode == code
    assert says in done.stderr
    assert "Traceback" not in done.stderr
