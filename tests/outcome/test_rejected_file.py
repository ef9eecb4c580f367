"""The rejected-records file as a person reads it: one line of UTF-8 JSON per record, nothing escaped."""

from __future__ import annotations

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, schema, target_config

STREAM = "kunden_münchen"


def test_non_ascii_streams_and_messages_are_written_as_utf8_text(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    messages = [
        schema(STREAM, ["email", "stadt"]),
        record(STREAM, email="jürgen", stadt="München"),
        record(STREAM, email="zoë@example.com", stadt="Köln"),
    ]

    run = run_target(target_config(sandbox, max_rejected_fraction=1), messages)

    assert run.code == 0, run.stderr
    assert run.rejected_path.read_bytes().decode("utf-8") == (
        '{"stream":"kunden_münchen","reason":"invalid_email",'
        "\"message\":\"'email' holds 'jürgen', which is not a valid email address\","
        '"record":{"email":"jürgen","stadt":"München"}}\n'
    )
    assert sandbox.lists() == {STREAM: ["zoë@example.com"]}
