"""Autopilot sandbox: a local, faithful stand-in for the Autopilot REST API v1.

A standalone package that only ships inside the target's distribution: it imports nothing from
the rest of `target_autopilot`, since it is the target's opponent in every test. Needs the
`sandbox` extra (werkzeug).
"""

from target_autopilot.sandbox.config import SandboxConfig
from target_autopilot.sandbox.server import (
    Sandbox,
    SandboxControl,
    SandboxError,
    run_sandbox,
    sandbox_process,
)

__all__ = ["Sandbox", "SandboxConfig", "SandboxControl", "SandboxError", "run_sandbox", "sandbox_process"]
