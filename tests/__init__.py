"""Tests of target-autopilot and of its sandbox."""
