"""Sync log tests: one sandbox (both APIs) per module, reset and given switches before each test."""

from __future__ import annotations

import pytest

from target_autopilot.sandbox import Sandbox

DEFAULTS = {"latency_ms": 0.0, "bulk_list_assignment": "on"}


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset()
    shared_sandbox.configure(**{**DEFAULTS, **getattr(request, "param", {})})
    return shared_sandbox
