"""What a run says as it starts, and settings as Meltano passes them: numbers as text, and variables
of the target's prefix that are no setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, run_cli, schema, target_config

MESSAGES = [schema("vip", ["email"]), record("vip", email="ann@example.com")]


def test_numbers_given_as_text_are_taken_as_numbers(sandbox: Sandbox, run_target: RunTarget) -> None:
    """Meltano passes number settings declared `kind: string` (its only kind that works from env) as text."""
    config = target_config(sandbox, requests_per_second="250.5", max_removal_fraction="1", max_profiles="10")

    run = run_target(config, MESSAGES)

    assert run.code == 0, run.stderr
    assert "max_profiles=10, max_rejected_fraction=0.5, max_removal_fraction=1" in run.stderr
    assert "requests_per_second=250.5" in run.stderr
    assert sandbox.lists() == {"vip": ["ann@example.com"]}


def test_text_that_is_no_number_is_refused_by_name(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(target_config(sandbox, max_removal_fraction="all"), MESSAGES)

    assert run.code != 0
    assert "max_removal_fraction" in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.lists() == {}


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("TARGET_AUTOPILOT_DRYRUN", "did you mean `dry_run` (TARGET_AUTOPILOT_DRY_RUN)?"),
        (
            "TARGET_AUTOPILOT_MAX_REMOVAL",
            "did you mean `max_removal_fraction` (TARGET_AUTOPILOT_MAX_REMOVAL_FRACTION)?",
        ),
        ("TARGET_AUTOPILOT_XYZZY", "(`target-autopilot --about` lists every setting)"),
    ],
)
def test_a_variable_of_the_targets_prefix_that_is_no_setting_is_named(
    variable: str, hint: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    run = run_cli(tmp_path, target_config(sandbox), MESSAGES, env={variable: "true"})

    assert run.code == 0, run.stderr
    [warning] = [line for line in run.stderr.splitlines() if "is not a setting of target-autopilot" in line]
    assert f"The environment variable {variable} is not a setting" in warning
    assert hint in warning
    assert sandbox.lists() == {"vip": ["ann@example.com"]}  # a real run: the misspelt dry run did nothing


def test_the_start_names_host_and_port_and_never_the_key(sandbox: Sandbox, run_target: RunTarget) -> None:
    run = run_target(target_config(sandbox), MESSAGES)

    assert run.code == 0, run.stderr
    port = sandbox.base_url.split(":")[2].split("/")[0]
    assert f"Sending to 127.0.0.1:{port} (api: classic, {sandbox.base_url})" in run.stderr
    assert sandbox.api_key not in run.stderr


def test_the_keys_meltano_exports_for_an_object_setting_are_not_named(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Meltano sets TARGET_AUTOPILOT_SEGMENTS_VIP beside TARGET_AUTOPILOT_SEGMENTS for `{vip: …}`."""
    env = {"TARGET_AUTOPILOT_SEGMENTS_VIP": "VIP", "TARGET_AUTOPILOT_FIELD_MAPPING_EMAIL": "email"}

    run = run_cli(tmp_path, target_config(sandbox, segments={"vip": "VIP"}), MESSAGES, env=env)

    assert run.code == 0, run.stderr
    assert "is not a setting of target-autopilot" not in run.stderr
