"""Each run writes its own rejected file and report; the configured paths reach the latest that had any."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
