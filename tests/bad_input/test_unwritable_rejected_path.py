"""An unwritable rejected_records_path stops the run before any request, in one whole sentence."""

from __future__ import annotations

from pathlib import Path

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, target_config


def test_a_directory_as_rejected_records_path_stops_the_run(
    sandbox: Sandbox, run_target: RunTarget, tmp_path: Path
) -> None:
    config = target_config(sandbox, rejected_records_path=str(tmp_path))

    run = run_target(config, [schema("vip", ["email"]), record("vip", email="a@example.com")])

    assert run.code == 1, run.stderr
    assert run.stderr.strip().splitlines()[-1].split(" | ")[-1] == (
        f"rejected_records_path {str(tmp_path)!r} cannot be written (Is a directory): point it at a file "
        "this user may create. Nothing was sent to Autopilot."
    )
    assert sandbox.stats()["requests_total"] == 0
