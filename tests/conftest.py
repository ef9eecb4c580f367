"""Shared fixtures: `sandbox`, a running sandbox of both APIs (rate limits off), and `sandbox_factory`.

def test_something(sandbox): ...                       # defaults, rate limit off
@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off"}], indirect=True)
def test_other(sandbox): ...                           # other options
def test_two(sandbox_factory): a = sandbox_factory(api_keys=("k1", "k2"))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox

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
