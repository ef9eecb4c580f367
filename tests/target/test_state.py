"""STATE goes to stdout only once the records before it are in Autopilot, and nothing else does."""

from __future__ import annotations

import io
import json

import pytest

from target_autopilot.sandbox import Sandbox
from target_autopilot.target import TargetAutopilot
from tests.target.support import record, schema, state, target_config


class DrainingEveryRecord(TargetAutopilot):
    """The SDK drains (and would write STATE) every 5 minutes; here after every record."""

    _MAX_RECORD_AGE_IN_MINUTES = -1.0


def lines(*messages: dict[str, object]) -> io.StringIO:
    return io.StringIO("".join(json.dumps(m) + "\n" for m in messages))


def test_periodic_drains_write_no_state_before_the_export(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    target = DrainingEveryRecord(config=target_config(sandbox, rejected_records_path=f"{tmp_path}/r.jsonl"))
    target.run(
        lines(
            schema("s", ["email"]),
            record("s", email="a@example.com"),
            state({"position": 1}),
            record("s", email="b@example.com"),
            state({"position": 2}),
            record("s", email="c@example.com"),
        )
    )

    out = capsys.readouterr().out
    assert out == '{"position": 2}\n'
    assert sandbox.lists() == {"s": ["a@example.com", "b@example.com", "c@example.com"]}


def test_a_failed_export_writes_no_state(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    config = {**target_config(sandbox, rejected_records_path=f"{tmp_path}/r.jsonl"), "api_key": "wrong"}
    target = DrainingEveryRecord(config=config)

    with pytest.raises(SystemExit) as exit_info:
        target.run(lines(schema("s", ["email"]), record("s", email="a@example.com"), state({"position": 1})))

    assert exit_info.value.code != 0
    assert capsys.readouterr().out == ""
