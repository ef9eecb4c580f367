"""Wrong-data guard tests: one sandbox (both APIs) per module, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    sandbox = run_sandbox(rate_limit=0, ortto_rate_limit=0).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset()
    return shared_sandbox
