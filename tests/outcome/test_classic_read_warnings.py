"""What Autopilot Classic answers oddly before applying is a warning, and the run goes on: custom fields
it will not list, and a list title it holds twice."""

from __future__ import annotations

from tests.conftest import SandboxFactory
from tests.target.support import (
    RunTarget,
    activate_version,
    by_hand,
    logged_at,
    record,
    schema,
    state,
    target_config,
)

S = "s"
MESSAGES = [
    schema(S, {"email": {"type": "string"}, "nickname": {"type": "string"}, "segments": {"type": "array"}}),
    activate_version(S),
    record(S, email="ada@example.com", nickname="Lucky", segments=["vip"]),
    state({"run": 1}),
]


def warnings(stderr: str) -> list[str]:
    return [line.split(" | ")[-1] for line in logged_at("WARNING", stderr).splitlines()]


def test_unlisted_custom_fields_are_a_warning(sandbox_factory: SandboxFactory, run_target: RunTarget) -> None:
    sandbox = sandbox_factory(refuse=["GET /v1/contacts/custom_fields"])
    config = target_config(sandbox, segment_property="segments", field_mapping={"Nickname": "nickname"})

    run = run_target(config, MESSAGES)

    assert run.code == 0, run.stderr
    assert warnings(run.stderr) == [
        "Could not read the account's custom fields (GET /contacts/custom_fields answered 403: Refused by "
        "the sandbox (its `refuse` setting).); their types are not checked before writing"
    ]
    assert sandbox.lists() == {"vip": ["ada@example.com"]}


def test_a_list_title_held_twice_is_a_warning_and_the_first_is_used(
    sandbox_factory: SandboxFactory, run_target: RunTarget
) -> None:
    sandbox = sandbox_factory(duplicate_list_names="allow")
    first, _ = (by_hand(sandbox, "POST", "list", body={"name": "vip"})["list_id"] for _ in range(2))
    config = target_config(sandbox, segment_property="segments", field_mapping={"Nickname": "nickname"})

    run = run_target(config, MESSAGES)

    assert run.code == 0, run.stderr
    assert warnings(run.stderr) == [f"Autopilot holds 2 lists titled 'vip'; using the first ({first})"]
    [member] = by_hand(sandbox, "GET", "list", first, "contacts")["contacts"]
    assert member["Email"] == "ada@example.com"
