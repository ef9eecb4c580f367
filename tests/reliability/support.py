"""Running the real CLI outside the function-scoped `run_target` fixture, with extra environment."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.target.support import TARGET, Run


def run_cli(
    workdir: Path,
    config: dict[str, Any],
    messages: Iterable[dict[str, Any] | str],
    *,
    env: Mapping[str, str] | None = None,
    name: str = "run",
    timeout: float = 120,
) -> Run:
    """Run `target-autopilot --config` in `workdir` on `messages`; files are named after `name`."""
    rejected = workdir / f"{name}-rejected.jsonl"
    report = workdir / f"{name}-report.json"
    full = {"rejected_records_path": str(rejected), "report_path": str(report), **config}
    config_path = workdir / f"{name}-config.json"
    config_path.write_text(json.dumps(full))
    lines = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
    done = subprocess.run(
        [TARGET, "--config", str(config_path)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=workdir,
        env={**os.environ, **(env or {})},
    )
    return Run(done.returncode, done.stdout, done.stderr, rejected, report, full)
