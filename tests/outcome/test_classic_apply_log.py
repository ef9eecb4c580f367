"""What a Classic run logs while applying: each list it creates, how memberships are written (the probe of
bulk list assignment), and the plan it is about to send."""

from __future__ import annotations

from typing import Any

import pytest

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


def read(*people: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        schema(S, {"email": {"type": "string"}, "note": {"type": "string"}, "segments": {"type": "array"}}),
        activate_version(S),
        *[record(S, email=address, note=note, segments=["vip"]) for address, note in people],
        state({"run": 1}),
    ]


PROBE_ON = "Autopilot assigns lists inside bulk upserts: memberships ride along them"
PROBE_OFF = (
    "Autopilot ignores list assignment inside bulk upserts for this account: writing each missing "
    "membership with its own request (about 1 request per membership)"
)
MODE = {"on": "bulk", "off": "per_contact"}


def applying(stderr: str) -> list[str]:
    """The INFO lines about lists, the probe and the plan."""
    return [
        line
        for line in messages(stderr, "INFO")
        if line.startswith(("Created list", "Autopilot", "Applying"))
    ]


def messages(stderr: str, level: str) -> list[str]:
    return [line.split(" | ")[-1] for line in logged_at(level, stderr).splitlines()]


@pytest.mark.parametrize("bulk", ["on", "off"])
def test_applying_logs_the_lists_created_the_probe_and_the_plan(
    bulk: str, sandbox_factory: SandboxFactory, run_target: RunTarget
) -> None:
    sandbox = sandbox_factory(bulk_list_assignment=bulk)
    config = target_config(
        sandbox,
        segment_property="segments",
        field_mapping={"Note": "note"},
        sync_mode="mirror",
        max_removal_fraction=1,
    )
    first = run_target(
        config, read(("ada@example.com", "a"), ("bob@example.com", "b"), ("cy@example.com", "c"))
    )
    assert first.code == 0, first.stderr
    second = run_target(
        config, read(("ada@example.com", "a"), ("bob@example.com", "B"), ("dee@example.com", "d"))
    )
    assert second.code == 0, second.stderr
    [list_id] = [item["list_id"] for item in by_hand(sandbox, "GET", "lists")["lists"]]

    probe = {"on": [PROBE_ON], "off": []}[bulk]
    assert applying(first.stderr) == [
        f"Created list 'vip' ({list_id})",
        *probe,
        "Applying: about 0 requests at up to 500 requests/s (list assignment: "
        f"{MODE[bulk]}; 0 profiles unchanged, not sent; 0 removals)",
    ]
    assert applying(second.stderr) == [
        *probe,
        "Applying: about 2 requests at up to 500 requests/s (list assignment: "
        f"{MODE[bulk]}; 1 profile unchanged, not sent; 1 removal)",
    ]
    assert (
        messages(first.stderr, "WARNING")
        == messages(second.stderr, "WARNING")
        == {"on": [], "off": [PROBE_OFF]}[bulk]
    )
    figures = [run.report["segments"]["vip"] for run in (first, second)]
    assert [(f["upserted"], f["memberships_added"], f["removed"]) for f in figures] == [(3, 3, 0), (2, 1, 1)]
    memberships = {"on": {}, "off": {"POST /list/{list_id}/contact/{email}": 3}}[bulk]
    assert first.report["requests"]["by_endpoint"] == {
        "GET /contacts/custom_fields": 1,
        "GET /account": 1,
        "GET /lists": 1,
        "POST /list": 1,
        "POST /contacts": 1,
        "GET /list/{list_id}/contact/{email}": 1,
        **memberships,
    }
    assert [run.report["list_assignment"] for run in (first, second)] == [MODE[bulk]] * 2
