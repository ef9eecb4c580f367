"""The SDK's standard target tests, run against the sandbox, plus checks of what they exported.

The standard inputs have no email column, and a stream without one is a config error for this
target. A stream map (an SDK feature every user has) gives each record an address made from its
id, so the standard inputs really travel to the sandbox.
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import singer_sdk.testing
from singer_sdk.testing import get_target_test_class

from target_autopilot.sandbox import Sandbox, run_sandbox
from target_autopilot.target import TargetAutopilot
from tests.target.support import RunTarget, target_config

STREAM_FILES = Path(singer_sdk.testing.__file__).with_name("target_test_streams")
EMAIL_FROM_ID = (
    "record.get('email') or ('row-' + str(record.get('id', record.get('Id', record.get('_id', 'none'))))"
    " + '@example.com')"
)


def _stream_names() -> set[str]:
    names = set()
    for path in STREAM_FILES.glob("*.singer"):
        for line in path.read_text().splitlines():
            if line.strip():
                names.add(json.loads(line).get("stream", ""))
    return names - {""}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = _free_port()
CONFIG = {
    "api_key": "sandbox-key",
    "api_url": f"http://127.0.0.1:{PORT}/v1",
    "requests_per_second": 500,
    "rejected_records_path": str(Path(tempfile.mkdtemp()) / "rejected.jsonl"),
    "stream_maps": {name: {"email": EMAIL_FROM_ID} for name in _stream_names()},
}

StandardTests = get_target_test_class(TargetAutopilot, config=CONFIG)


class TestTargetAutopilotStandard(StandardTests):  # type: ignore[valid-type,misc]
    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def sandbox(cls) -> Iterator[Sandbox]:
        with run_sandbox(rate_limit=0, port=PORT) as sandbox:
            yield sandbox

    @pytest.mark.skip(
        reason="Expects a STATE per checkpoint. This target applies everything at the end of the "
        "input and then writes only the latest STATE: an earlier one would claim records that "
        "were staged but not yet sent (issue 3, STATE)."
    )
    def test_target_multiple_state_messages(self) -> None: ...

    @pytest.mark.skip(
        reason="Expects a record without its key property to stop the run. Autopilot profiles "
        "are keyed by email, not by the tap's key, so such a record is still exported."
    )
    def test_target_record_missing_key_property(self) -> None: ...


@pytest.mark.parametrize("name", ["duplicate_records", "encoded_string_data", "schema_updates"])
def test_standard_inputs_arrive_in_autopilot(name: str, sandbox: Sandbox, run_target: RunTarget) -> None:
    messages = [
        json.loads(line) for line in (STREAM_FILES / f"{name}.singer").read_text().splitlines() if line
    ]
    expected: dict[str, set[str]] = {}
    for message in messages:
        if message["type"] == "RECORD":
            expected.setdefault(message["stream"], set()).add(f"row-{message['record']['id']}@example.com")

    run = run_target(target_config(sandbox, stream_maps=CONFIG["stream_maps"]), messages)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {stream: sorted(emails) for stream, emails in expected.items()}
    assert run.rejected == []
