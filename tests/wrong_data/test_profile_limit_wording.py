"""The profile limit's whole message, word for word, and that nothing reaches Autopilot."""

from __future__ import annotations

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, target_config


def test_more_profiles_than_max_profiles_stops_the_run_with_both_ways_out(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    run = run_target(
        target_config(sandbox, max_profiles=2),
        [schema("vip", ["email"]), *(record("vip", email=f"p{i}@example.com") for i in range(3))],
    )

    assert run.code == 1, run.stderr
    assert run.stderr.strip().splitlines()[-1].split(" | ")[-1] == (
        "The input holds 3 distinct profiles (distinct emails), more than max_profiles = 2. Nothing was sent "
        "to Autopilot. Raise max_profiles, or set on_limit_exceeded: truncate to export the first 2 and "
        "reject the rest."
    )
    assert sandbox.lists() == {}
