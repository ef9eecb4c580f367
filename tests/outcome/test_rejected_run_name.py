"""A run's rejected file is named after the run (start time and process id), beside the configured link."""

from __future__ import annotations

import os
import re

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, target_config


def test_the_rejected_file_of_a_run_is_named_by_its_start_time_and_process(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    run = run_target(
        target_config(sandbox),
        [schema("vip", ["email"]), record("vip", email="a@example.com"), record("vip", email="x")],
    )

    assert run.code == 0, run.stderr
    written = run.report["files"]["rejected records"]
    stem, extension = os.path.splitext(run.rejected_path.name)
    assert re.fullmatch(
        rf"{re.escape(stem)}\.\d{{8}}T\d{{6}}Z-\d+{re.escape(extension)}", os.path.basename(written)
    )
    assert os.path.dirname(written) == str(run.rejected_path.parent)
    assert os.readlink(run.rejected_path) == os.path.basename(written)
    assert [line["record"]["email"] for line in run.rejected] == ["x"]
