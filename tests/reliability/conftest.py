"""Reliability tests reuse the target tests' `run_target` fixture (the real CLI on a temp dir)."""

from tests.target.conftest import run_target

__all__ = ["run_target"]
