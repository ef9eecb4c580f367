"""Wrong-data guard tests: one sandbox (both APIs) per module, emptied before each test."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox


@pytest.fixture
def sandbox(shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset()
    return shared_sandbox
