"""Outcome tests reuse the target tests' `run_target` fixture."""

from tests.target.conftest import run_target

__all__ = ["run_target"]
