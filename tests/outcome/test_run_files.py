"""Each run writes its own rejected file and report; the configured paths reach the latest that had any."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import record, run_cli, schema, state, target_config

S = "people"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_run_with_nothing_to_write_keeps_the_previous_records(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    rejected, report = out / "autopilot-rejected.jsonl", out / "autopilot-report.json"
    config = target_config(sandbox, rejected_records_path=str(rejected), report_path=str(report))
    good = [record(S, email=f"p{i}@example.com") for i in range(4)]

    first = run_cli(
        tmp_path, config, [schema(S, ["email"]), *good, record(S, email="x"), record(S, email="y")]
    )
    assert first.code == 0, first.stderr
    first_files = {p.name for p in out.iterdir()}

    # The tap sent no changed file: no record at all.
    nothing = run_cli(tmp_path, config, [schema(S, ["email"]), state({"offset": 6})])
    assert nothing.code == 0, nothing.stderr
    assert [line["record"]["email"] for line in lines(rejected)] == ["x", "y"]
    assert json.loads(report.read_text())["records"] == 6
    assert {p.name for p in out.iterdir()} == first_files

    third = run_cli(tmp_path, config, [schema(S, ["email"]), *good, record(S, email="z")])
    assert third.code == 0, third.stderr
    assert [line["record"]["email"] for line in lines(rejected)] == ["z"]
    assert json.loads(report.read_text())["records"] == 5

    # Every run that had something to write has its own files, named in its summary.
    rejected_files = sorted(out.glob("autopilot-rejected.*.jsonl"))
    assert [len(lines(path)) for path in rejected_files] == [2, 1]
    assert len(list(out.glob("autopilot-report.*.json"))) == 2
    assert rejected.is_symlink()
    assert os.readlink(rejected) == rejected_files[1].name
    assert f"This run's rejected records: {rejected_files[1]}" in third.stderr
    assert json.loads(report.read_text())["files"]["rejected records"] == str(rejected_files[1])


def test_a_file_written_by_an_earlier_version_is_kept(sandbox: Sandbox, tmp_path: Path) -> None:
    rejected = tmp_path / "rejected.jsonl"
    rejected.write_text('{"stream":"people","reason":"invalid_email","record":{"email":"old"}}\n')
    config = target_config(sandbox, rejected_records_path=str(rejected))

    run = run_cli(
        tmp_path, config, [schema(S, ["email"]), record(S, email="ok@example.com"), record(S, email="new")]
    )

    assert run.code == 0, run.stderr
    assert [line["record"]["email"] for line in lines(rejected)] == ["new"]
    [earlier] = tmp_path.glob("rejected.*-earlier.jsonl")
    assert [line["record"]["email"] for line in lines(earlier)] == ["old"]


def run_stamp(days_ago: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - days_ago * 86_400))


OLD = {"old rejected", "old report", "old, renamed from an older version's file"}


@pytest.mark.parametrize(("keep", "gone"), [(None, OLD), (0, set())])
def test_per_run_files_older_than_keep_run_files_are_deleted_and_nothing_else(
    keep: int | None, gone: set[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    files = {
        "old rejected": f"autopilot-rejected.{run_stamp(31)}-101.jsonl",
        "old report": f"autopilot-report.{run_stamp(45)}-102.json",
        "old, renamed from an older version's file": f"autopilot-report.{run_stamp(60)}-earlier.json",
        "recent rejected": f"autopilot-rejected.{run_stamp(29)}-103.jsonl",
        "someone else's": f"other.{run_stamp(90)}-104.jsonl",
        "a copy": f"autopilot-rejected.{run_stamp(90)}-105.jsonl.bak",
        "notes": "notes.txt",
    }
    for name in files.values():
        (out / name).write_text("{}\n")
    settings: dict[str, Any] = {} if keep is None else {"keep_run_files": keep}
    config = target_config(
        sandbox,
        rejected_records_path=str(out / "autopilot-rejected.jsonl"),
        report_path=str(out / "autopilot-report.json"),
        **settings,
    )

    run = run_cli(tmp_path, config, [schema(S, ["email"]), record(S, email="ok@example.com")])

    assert run.code == 0, run.stderr
    left = {p.name for p in out.iterdir()}
    assert {what for what, name in files.items() if name not in left} == gone
    if gone:
        assert "Deleted 2 run files of" in run.stderr


def test_every_file_the_target_writes_is_readable_by_its_owner_only(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    os.umask(0o022)  # the usual umask: files would be 0644
    for status, extra in (("completed", {}), ("dry_run", {"dry_run": True})):
        config = target_config(
            sandbox,
            rejected_records_path=str(out / f"{status}-rejected.jsonl"),
            report_path=str(out / f"{status}-report.json"),
            **extra,
        )
        run = run_cli(
            tmp_path, config, [schema(S, ["email"]), record(S, email="a@example.com"), record(S, email="x")]
        )
        assert run.code == 0, run.stderr
        assert json.loads((out / f"{status}-report.json").read_text())["status"] == status
    written = [path for path in out.iterdir() if not path.is_symlink()]
    assert len(written) == 4  # a rejected file and a report for each run
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in written} == {
        path.name: "0o600" for path in written
    }
