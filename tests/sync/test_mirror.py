"""Mirror mode: lists follow their complete segments, and nothing else loses a member."""

from __future__ import annotations

from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.target.support import (
    RunTarget,
    activate_version,
    by_hand,
    record,
    requests_to,
    schema,
    state,
    target_config,
    writes,
)

DELETE_MEMBER = "DELETE /v1/list/{list_id}/contact/{contact}"


def people(stream: str, *names: str) -> list[dict[str, Any]]:
    return [record(stream, email=f"{name}@example.com", first_name=name.title()) for name in names]


def emails(*names: str) -> list[str]:
    return sorted(f"{name}@example.com" for name in names)


def first_export() -> list[dict[str, Any]]:
    """Three segments as they were last week."""
    return [
        schema("vip", ["email", "first_name"]),
        *people("vip", "ada", "bob", "cy", "dee"),
        schema("churn", ["email", "first_name"]),
        *people("churn", "xu", "yan"),
        schema("newsletter", ["email", "first_name"]),
        *people("newsletter", "ada", "cy", "nia"),
    ]


def populate(sandbox: Sandbox, run_target: RunTarget) -> None:
    """Last week's export, plus a list someone made by hand with some of the same people."""
    assert run_target(target_config(sandbox), first_export()).code == 0
    own = by_hand(sandbox, "POST", "list", body={"name": "Hand picked"})["list_id"]
    for name in ("ada", "cy", "dee"):
        by_hand(sandbox, "POST", "list", own, "contact", f"{name}@example.com")
    sandbox.reset_stats()


# This week: vip read whole (dee left, eve joined, cy's record is broken); churn read incrementally
# (only xu changed); newsletter not sent at all (the tap skipped it).
THIS_WEEK = [
    schema("vip", ["email", "first_name"]),
    activate_version("vip"),
    *people("vip", "ada", "bob", "eve"),
    record("vip", email="cy@example.com", first_name=7),  # rejected (schema_violation): not a leaver
    schema("churn", ["email", "first_name"]),
    *people("churn", "xu"),
    state({"week": 2}),
]


@pytest.mark.parametrize(
    ("complete_streams", "churn_after"),
    [("activate_version", ["xu", "yan"]), ("sent", ["xu"])],
)
def test_mirror_removes_exactly_the_leavers_and_only_from_lists_it_manages(
    complete_streams: str, churn_after: list[str], sandbox: Sandbox, run_target: RunTarget
) -> None:
    populate(sandbox, run_target)
    config = target_config(sandbox, sync_mode="mirror", complete_streams=complete_streams)

    run = run_target(config, THIS_WEEK)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {
        "vip": emails("ada", "bob", "cy", "eve"),
        "churn": emails(*churn_after),
        "newsletter": emails("ada", "cy", "nia"),  # not sent: left as it is
        "Hand picked": emails("ada", "cy", "dee"),  # not the target's: untouched
    }
    for leaver in ("dee", "yan"):  # off a list, but still a subscribed contact
        contact = sandbox.contact(f"{leaver}@example.com")
        assert contact is not None
        assert contact["unsubscribed"] is False
    assert requests_to(sandbox.stats(), DELETE_MEMBER) == 1 + (2 - len(churn_after))
    assert run.report["segments"]["vip"]["removed"] == 1
    assert run.report["segments"]["churn"]["removed"] == 2 - len(churn_after)
    assert run.report["segments"]["vip"]["plan"]["mirrored"] is True
    assert run.states == [{"week": 2}]


@pytest.mark.parametrize(
    ("this_week", "complete_streams"),
    [
        pytest.param(THIS_WEEK, "activate_version", id="leavers"),
        pytest.param([schema("vip", ["email"]), activate_version("vip")], "sent", id="empty stream"),
    ],
)
def test_add_mode_never_removes(
    this_week: list[dict[str, Any]], complete_streams: str, sandbox: Sandbox, run_target: RunTarget
) -> None:
    populate(sandbox, run_target)
    before = sandbox.lists()

    run = run_target(target_config(sandbox, complete_streams=complete_streams), this_week)

    assert run.code == 0, run.stderr
    assert requests_to(sandbox.stats(), DELETE_MEMBER) == 0
    after = sandbox.lists()
    assert all(set(before[title]) <= set(after[title]) for title in before)


def test_a_stream_sent_without_records_is_not_taken_for_a_segment_everyone_left(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """complete_streams: sent, and a file tap reading only changed files: churn's file changed and was
    re-read whole, vip's did not and sent nothing."""
    populate(sandbox, run_target)
    before = sandbox.lists()
    config = target_config(sandbox, sync_mode="mirror", complete_streams="sent")
    this_week = [
        schema("vip", ["email", "first_name"]),
        schema("churn", ["email", "first_name"]),
        *people("churn", "xu"),
        state({"week": 2}),
    ]

    run = run_target(config, this_week)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {**before, "churn": emails("xu")}
    assert "Not mirroring the lists of 'vip': sent without a record in this run" in run.stderr
    assert run.report["segments"]["churn"]["removed"] == 1
    assert run.states == [{"week": 2}]


def test_an_empty_complete_stream_trips_the_guard_and_writes_nothing(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    populate(sandbox, run_target)
    before = sandbox.lists()
    empty = [schema("vip", ["email"]), activate_version("vip"), state({"week": 2})]

    stopped = run_target(target_config(sandbox, sync_mode="mirror"), empty)

    assert stopped.code != 0
    assert "'vip' holds 4 members and would lose 4 (its segment arrived empty)" in stopped.stderr
    assert "max_removal_fraction = 0.5" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert writes(sandbox.stats()) == 0
    assert sandbox.lists() == before
    assert stopped.states == []

    emptied = run_target(target_config(sandbox, sync_mode="mirror", max_removal_fraction=1), empty)

    assert emptied.code == 0, emptied.stderr
    assert sandbox.lists() == {**before, "vip": []}
    assert emptied.report["segments"]["vip"]["removed"] == 4
    assert emptied.report["segments"]["vip"]["plan"] == {
        "list": "exists",
        "mirrored": True,
        "members_now": 4,
        "to_add": 0,
        "to_update": 0,
        "unchanged": 0,
        "to_remove": 4,
    }
    assert emptied.states == [{"week": 2}]


def test_the_guard_names_every_list_over_it_and_lets_the_others_be(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    populate(sandbox, run_target)
    messages = [
        schema("vip", ["email", "first_name"]),
        activate_version("vip"),
        *people("vip", "ada"),  # loses 3 of 4
        schema("churn", ["email", "first_name"]),
        activate_version("churn"),
        *people("churn", "xu"),  # loses 1 of 2: exactly the limit, allowed
        schema("newsletter", ["email", "first_name"]),
        activate_version("newsletter"),
        *people("newsletter", "nia"),  # loses 2 of 3: over it too
    ]

    run = run_target(target_config(sandbox, sync_mode="mirror"), messages)

    assert run.code != 0
    [guard] = [line for line in run.stderr.splitlines() if "Mirror guard" in line]
    assert (
        "Mirror guard: a list would lose more than max_removal_fraction = 0.5 of its members: "
        "'newsletter' holds 3 members and would lose 2; 'vip' holds 4 members and would lose 3. "
        "If the source is right, raise max_removal_fraction (1 turns the guard off) for this run; "
        "preview with dry_run: true. Nothing was written to Autopilot."
    ) in guard
    assert "'churn'" not in guard
    assert writes(sandbox.stats()) == 0


SEGMENTED_SCHEMA = schema("people", {"email": {"type": "string"}, "segments": {"type": ["array", "null"]}})


@pytest.mark.parametrize(
    ("managed_lists", "gold_after"),
    [(None, ["dee"]), ({"people": ["Gold", "Unused"]}, [])],
)
def test_segment_property_mirrors_the_lists_named_by_complete_streams(
    managed_lists: dict[str, list[str]] | None,
    gold_after: list[str],
    sandbox: Sandbox,
    run_target: RunTarget,
) -> None:
    first = [
        SEGMENTED_SCHEMA,
        record("people", email="ada@example.com", segments=["VIP", "Churn"]),
        record("people", email="bob@example.com", segments=["VIP"]),
        record("people", email="cy@example.com", segments=["Churn"]),
        record("people", email="dee@example.com", segments=["Gold"]),
    ]
    assert run_target(target_config(sandbox, segment_property="segments"), first).code == 0
    second = [
        SEGMENTED_SCHEMA,
        activate_version("people"),
        record("people", email="ada@example.com", segments=["VIP", "Churn"]),
        record("people", email="eve@example.com", segments=["VIP"]),
    ]
    settings: dict[str, Any] = {"managed_lists": managed_lists} if managed_lists else {}
    config = target_config(
        sandbox, segment_property="segments", sync_mode="mirror", max_removal_fraction=1, **settings
    )

    run = run_target(config, second)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {
        "VIP": emails("ada", "eve"),
        "Churn": emails("ada"),
        "Gold": emails(*gold_after),  # named by no record: emptied only when managed_lists names it
    }
    if managed_lists:  # named by managed_lists and by no record: an empty segment's list is not created
        assert "Unused" not in sandbox.list_titles()


def test_a_removal_autopilot_refuses_is_in_the_rejected_file(sandbox: Sandbox, run_target: RunTarget) -> None:
    populate(sandbox, run_target)
    sandbox.configure(refuse=[DELETE_MEMBER])

    run = run_target(target_config(sandbox, sync_mode="mirror"), THIS_WEEK)

    assert run.code == 0, run.stderr
    assert sandbox.lists()["vip"] == emails("ada", "bob", "cy", "dee", "eve")
    [refused] = [r for r in run.rejected if r["reason"] == "removal_rejected"]
    assert (refused["stream"], refused["record"]) == ("vip", {"email": "dee@example.com", "list": "vip"})
    assert "Autopilot refused to remove from list 'vip' (HTTP 403)" in refused["message"]
    assert run.report["segments"]["vip"]["rejected"] == {"removal_rejected": 1, "schema_violation": 1}
    assert run.report["segments"]["vip"]["removed"] == 0


@pytest.mark.parametrize("list_assignment", ["bulk", "per_contact"])
def test_the_announced_request_count_is_what_a_fault_free_run_sends(
    sandbox: Sandbox, run_target: RunTarget, list_assignment: str
) -> None:
    populate(sandbox, run_target)
    newcomers = [f"new{n:03d}" for n in range(150)]
    messages = [
        schema("vip", ["email", "first_name"]),
        activate_version("vip"),
        *people("vip", "bob", "cy"),  # ada and dee leave: 2 removals
        *people("vip", *newcomers),  # 150 join: 2 bulk upserts, or one request each
        schema("newsletter", ["email", "first_name"]),
        record("newsletter", email="nia@example.com", first_name="Nia B."),  # changed: 1 upsert
    ]

    run = run_target(
        target_config(sandbox, sync_mode="mirror", list_assignment=list_assignment, max_removal_fraction=1),
        messages,
    )

    assert run.code == 0, run.stderr
    [announced] = [line for line in run.stderr.splitlines() if "Applying: about" in line]
    expected = 2 + 1 + (2 if list_assignment == "bulk" else 150)
    assert f"Applying: about {expected} requests at" in announced
    assert writes(sandbox.stats()) == expected
