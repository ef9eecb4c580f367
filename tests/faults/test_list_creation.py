"""Creating a Classic list: a creation that failed after it took effect is found, not repeated; a refused
one stops the run before anything else is sent."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.conftest import SandboxFactory
from tests.target.support import RunTarget, activate_version, record, schema, state, target_config

S = "s"
PEOPLE = ("ada@example.com", "bob@example.com")


def segmented() -> list[dict[str, Any]]:
    return [
        schema(S, {"email": {"type": "string"}, "segments": {"type": "array"}}),
        activate_version(S),
        *[record(S, email=address, segments=["vip"]) for address in PEOPLE],
        state({"run": 1}),
    ]


# Seed 9 at a fault rate of 0.3 fails the third request, POST /list (before or after the list was
# created); the requests after it are answered.
@pytest.mark.parametrize(
    ("after_apply", "creations"),
    [(1.0, 1), (0.0, 2)],
    ids=["created", "not-created"],
)
def test_a_failed_list_creation_is_looked_up_then_sent_again_only_if_missing(
    after_apply: float, creations: int, sandbox_factory: SandboxFactory, run_target: RunTarget
) -> None:
    sandbox = sandbox_factory(
        duplicate_list_names="allow",
        fault_rate=0.3,
        fault_kinds=("500",),
        fault_after_apply=after_apply,
        seed=9,
    )

    run = run_target(target_config(sandbox, segment_property="segments", list_assignment="bulk"), segmented())

    assert run.code == 0, run.stderr
    assert sandbox.list_titles() == ["vip"]
    assert sandbox.lists() == {"vip": list(PEOPLE)}
    assert sandbox.stats()["faults"]["total"] == 1
    assert run.report["requests"]["by_endpoint"] == {
        "GET /account": 1,
        "GET /lists": 2,
        "POST /list": creations,
        "POST /contacts": 1,
    }


@pytest.mark.parametrize("sandbox", [{"refuse": ["POST /v1/list"]}], indirect=True)
def test_a_refused_list_creation_stops_the_run_in_autopilot_s_words(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    run = run_target(target_config(sandbox, segment_property="segments", list_assignment="bulk"), segmented())

    assert run.code != 0
    assert (
        "Autopilot refused to create the list 'vip': Refused by the sandbox (its `refuse` setting)."
        in run.stderr
    )
    assert run.states == []
    assert sandbox.list_titles() == []
    assert sandbox.stats()["by_endpoint"] == {
        "GET /v1/account": {"200": 1},
        "GET /v1/lists": {"200": 1},
        "POST /v1/list": {"403": 1},
    }
