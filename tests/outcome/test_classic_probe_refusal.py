"""A contact Autopilot refuses in the probe of bulk list assignment is rejected once, never sent again."""

from __future__ import annotations

import pytest

from tests.conftest import SandboxFactory
from tests.target.support import RunTarget, activate_version, record, schema, state, target_config

S = "s"
OTHERS = ("ada@example.com", "cy@example.com")
MESSAGE = "Autopilot refused to upsert (HTTP 400): Contact at index 1 (bob@example.com): Custom field "
SCHEMA = schema(
    S, {"email": {"type": "string"}, "nickname": {"type": "string"}, "segments": {"type": "array"}}
)
MEMBERSHIP = "POST /list/{list_id}/contact/{email}"


@pytest.mark.parametrize(("bulk", "memberships"), [("on", 0), ("off", 2)])
def test_a_contact_refused_in_the_probe_is_rejected_once(
    bulk: str, memberships: int, sandbox_factory: SandboxFactory, run_target: RunTarget
) -> None:
    sandbox = sandbox_factory(bulk_list_assignment=bulk, custom_fields="must-exist")
    bob = {"email": "bob@example.com", "nickname": "Lucky", "segments": ["vip"]}
    messages = [
        schema(
            S, {"email": {"type": "string"}, "nickname": {"type": "string"}, "segments": {"type": "array"}}
        ),
        activate_version(S),
        record(S, email=OTHERS[0], segments=["vip"]),
        record(S, **bob),
        record(S, email=OTHERS[1], segments=["vip"]),
        state({"run": 1}),
    ]
    config = target_config(
        sandbox, segment_property="segments", field_mapping={"Nickname": "nickname"}, max_rejected_fraction=1
    )

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"vip": list(OTHERS)}
    assert [(line["record"], line["reason"], line["message"]) for line in run.rejected] == [
        (bob, "api_rejected", MESSAGE + "'Nickname' does not exist.")
    ]
    requests = run.report["requests"]["by_endpoint"]
    assert (requests["POST /contacts"], requests.get(MEMBERSHIP, 0), requests.get("POST /contact", 0)) == (
        2,
        memberships,
        0,
    )
    figures = run.report["segments"]["vip"]
    assert (figures["upserted"], figures["memberships_added"], figures["rejected"]) == (
        2,
        2,
        {"api_rejected": 1},
    )


@pytest.mark.parametrize(
    ("custom_fields", "nicknames", "mode"),
    [
        # The second run has only a changed contact, already in its list: nothing to probe, bulks stay bulks.
        ("auto-create", ["Lucky", "Lucky Luke"], "bulk"),
        # The probe's only contact is refused: nothing tells whether bulks assign lists.
        ("must-exist", ["Lucky"], "per_contact"),
    ],
    ids=["nothing-to-probe", "all-refused"],
)
def test_the_list_assignment_chosen_without_a_probe_answer_is_reported(
    custom_fields: str,
    nicknames: list[str],
    mode: str,
    sandbox_factory: SandboxFactory,
    run_target: RunTarget,
) -> None:
    sandbox = sandbox_factory(custom_fields=custom_fields)
    config = target_config(
        sandbox, segment_property="segments", field_mapping={"Nickname": "nickname"}, max_rejected_fraction=1
    )

    for nickname in nicknames:
        run = run_target(
            config,
            [
                SCHEMA,
                activate_version(S),
                record(S, email="bob@example.com", nickname=nickname, segments=["vip"]),
                state({"run": 1}),
            ],
        )

    assert run.code == 0, run.stderr
    assert run.report["list_assignment"] == mode
    assert f"(list assignment: {mode}; " in run.stderr
