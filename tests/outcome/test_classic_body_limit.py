"""A Classic contact sends its non-ASCII email as UTF-8 text, so a body just under the size limit fits."""

from __future__ import annotations

import json

from target_autopilot.sandbox import Sandbox
from target_autopilot.sandbox.serving import MAX_BODY_BYTES
from tests.target.support import RunTarget, activate_version, by_hand, record, schema, state, target_config

S = "s"
EMAIL = "é" * 30 + "@example.com"  # 60 bytes of UTF-8 before the @; as `\u00e9` escapes, 180


def test_a_non_ascii_email_costs_its_utf8_bytes_in_a_body_near_the_limit(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    list_id = by_hand(sandbox, "POST", "list", body={"name": "vip"})["list_id"]
    contact = {"Email": EMAIL, "Note": "", "_autopilot_list": list_id}
    body = json.dumps({"contacts": [contact]}, separators=(",", ":"), ensure_ascii=False)
    note = "n" * (MAX_BODY_BYTES - 60 - len(body.encode()))  # 60 bytes under the limit, 60 over if escaped
    messages = [
        schema(S, {"email": {"type": "string"}, "note": {"type": "string"}, "segments": {"type": "array"}}),
        activate_version(S),
        record(S, email=EMAIL, note=note, segments=["vip"]),
        state({"run": 1}),
    ]
    config = target_config(sandbox, segment_property="segments", field_mapping={"Note": "note"})

    run = run_target(config, messages)

    assert run.code == 0, run.stderr[-2000:]
    assert run.rejected == []
    assert run.report["requests"]["by_endpoint"]["POST /contacts"] == 1, run.report["requests"]
    assert sandbox.lists() == {"vip": [EMAIL]}


def test_a_contact_over_the_limit_on_its_own_is_rejected_and_the_others_land(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    big = "big@example.com"
    messages = [
        schema(S, {"email": {"type": "string"}, "note": {"type": "string"}, "segments": {"type": "array"}}),
        activate_version(S),
        record(S, email="ada@example.com", note="", segments=["vip"]),
        record(S, email=big, note="n" * MAX_BODY_BYTES, segments=["vip"]),
        state({"run": 1}),
    ]
    config = target_config(sandbox, segment_property="segments", field_mapping={"Note": "note"})

    run = run_target(config, messages)

    assert run.code == 0, run.stderr[-2000:]
    assert [(line["record"]["email"], line["reason"]) for line in run.rejected] == [(big, "api_rejected")]
    assert run.rejected[0]["message"].startswith("Autopilot refused to upsert (HTTP 413): ")
    assert sandbox.lists() == {"vip": ["ada@example.com"]}
