"""Shared fixtures: `sandbox`, a running sandbox of both APIs (rate limits off), `sandbox_factory`, and
`run_target`, which runs the real `target-autopilot` CLI.

def test_something(sandbox): ...                       # defaults, rate limit off
@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off"}], indirect=True)
def test_other(sandbox): ...                           # other options
def test_two(sandbox_factory): a = sandbox_factory(api_keys=("k1", "k2"))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox
from tests.target.support import Run, RunTarget, run_cli

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandboxes with `SandboxConfig` options (rate limits off unless given); all stop after."""
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        sandbox = run_sandbox(**{"rate_limit": 0, "ortto_rate_limit": 0, **options}).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> Sandbox:
    """A running sandbox; options through `@pytest.mark.parametrize(..., indirect=True)`."""
    return sandbox_factory(**getattr(request, "param", {}))


@pytest.fixture
def run_target(tmp_path: Path) -> RunTarget:
    """Run the CLI with `config` on `messages` (dicts, or raw lines as strings)."""
    counter = iter(range(1000))

    def run(config: dict[str, Any], messages: Iterable[dict[str, Any] | str], *, timeout: float = 120) -> Run:
        return run_cli(tmp_path, config, messages, name=f"run-{next(counter)}", timeout=timeout)

    return run
