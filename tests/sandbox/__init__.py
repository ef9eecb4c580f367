"""Tests of the Autopilot sandbox, over raw HTTP to a running server."""
