"""Fixtures for target tests: `run_target` runs the real `target-autopilot` CLI."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.target.support import Run, RunTarget, run_cli


@pytest.fixture
def run_target(tmp_path: Path) -> RunTarget:
    """Run the CLI with `config` on `messages` (dicts, or raw lines as strings)."""
    counter = iter(range(1000))

    def run(config: dict[str, Any], messages: Iterable[dict[str, Any] | str], *, timeout: float = 120) -> Run:
        return run_cli(tmp_path, config, messages, name=f"run-{next(counter)}", timeout=timeout)

    return run
