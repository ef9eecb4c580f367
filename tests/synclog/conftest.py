"""Sync log tests: one sandbox (both APIs) per module, reset and given switches before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox

DEFAULTS = {"latency_ms": 0.0, "bulk_list_assignment": "on"}


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    sandbox = run_sandbox(rate_limit=0, ortto_rate_limit=0).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset()
    shared_sandbox.configure(**{**DEFAULTS, **getattr(request, "param", {})})
    return shared_sandbox
