"""Fixtures for target tests: `run_target` runs the real `target-autopilot` CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.target.support import TARGET, Run, RunTarget


@pytest.fixture
def run_target(tmp_path: Path) -> RunTarget:
    """Run the CLI with `config` on `messages` (dicts, or raw lines as strings)."""
    counter = iter(range(1000))

    def run(config: dict[str, Any], messages: Iterable[dict[str, Any] | str], *, timeout: float = 120) -> Run:
        index = next(counter)
        rejected = tmp_path / f"rejected-{index}.jsonl"
        report = tmp_path / f"report-{index}.json"
        full = {"rejected_records_path": str(rejected), "report_path": str(report), **config}
        config_path = tmp_path / f"config-{index}.json"
        config_path.write_text(json.dumps(full))
        lines = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
        done = subprocess.run(
            [TARGET, "--config", str(config_path)],
            input=lines,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr, rejected, report, full)

    return run
