"""What Autopilot Classic refuses, and what the run writes: each refusal in Autopilot's words, the requests it
cost, and the systematic refusal that stops a run (refusals.py: FIRST, WINDOW and SHARE)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
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
FORBIDDEN = "Refused by the sandbox (its `refuse` setting)."
ADD_MEMBER = "POST /v1/list/{list_id}/contact/{contact}"
DELETE_MEMBER = "DELETE /v1/list/{list_id}/contact/{contact}"
NO_NICKNAME = "Custom field 'Nickname' does not exist."


def email(i: int) -> str:
    return f"p{i:03d}@example.com"


BATCH = ("ada@example.com", "cy@example.com", "max@example.tax", "zed@example.com")


@pytest.mark.parametrize(
    ("others", "partial", "refused", "referrer", "message", "endpoints"),
    [
        # The refusal names its contact: it alone is left out and the rest resent, in bulk.
        (
            BATCH,
            "reject-batch",
            "bob@example.com",
            None,
            f"Contact at index 2 (bob@example.com): {NO_NICKNAME}",
            {"POST /contacts": 2},
        ),
        # The same in a bulk of two, and a bulk of one, which is not resent empty.
        (
            BATCH[:1],
            "reject-batch",
            "bob@example.com",
            None,
            f"Contact at index 1 (bob@example.com): {NO_NICKNAME}",
            {"POST /contacts": 2},
        ),
        (
            (),
            "reject-batch",
            "bob@example.com",
            None,
            f"Contact at index 0 (bob@example.com): {NO_NICKNAME}",
            {"POST /contacts": 1},
        ),
        # An address the message cannot be read from (the apostrophe ends it): nobody is named, so each
        # contact of the batch is sent on its own, and only the refused one is refused.
        (
            BATCH,
            "reject-batch",
            "o'brien@example.com",
            None,
            NO_NICKNAME,
            {"POST /contacts": 1, "POST /contact": 5},
        ),
        # The message names two of the batch (the second ends a sentence, its domain in capitals): it
        # cannot tell which was refused, so each is sent on its own.
        (
            BATCH,
            "reject-batch",
            "bob@example.com",
            "Max@Example.TAX.",
            "Custom field 'Referrer Max@Example.TAX.' does not exist.",
            {"POST /contacts": 1, "POST /contact": 5},
        ),
        # Autopilot skips the bad contact and says whom it took: only the skipped one is sent again.
        (BATCH, "skip-item", "bob@example.com", None, NO_NICKNAME, {"POST /contacts": 1, "POST /contact": 1}),
    ],
    ids=["named", "named-of-two", "alone", "unreadable", "two-named", "skipped"],
)
@pytest.mark.parametrize("sandbox", [{"custom_fields": "must-exist"}], indirect=True)
def test_a_refused_contact_of_a_bulk_is_found_by_the_address_autopilot_names(
    others: tuple[str, ...],
    partial: str,
    refused: str,
    referrer: str | None,
    message: str,
    endpoints: dict[str, int],
    sandbox: Sandbox,
    run_target: RunTarget,
) -> None:
    sandbox.configure(bulk_partial_failure=partial)
    bad = {"email": refused, "nickname": "Lucky"} if referrer is None else {"email": refused, "referrer": "x"}
    mapping = {"Nickname": "nickname", **({f"Referrer {referrer}": "referrer"} if referrer else {})}
    messages = [
        schema(S, ["email", "nickname", "referrer"]),
        *[record(S, email=e) for e in others[:2]],
        record(S, **bad),
        *[record(S, email=e) for e in others[2:]],
    ]
    config = target_config(sandbox, field_mapping=mapping, list_assignment="bulk", max_rejected_fraction=1)

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {S: sorted(others)}
    assert run.rejected == [
        {
            "stream": S,
            "reason": "api_rejected",
            "message": f"Autopilot refused to upsert (HTTP 400): {message}",
            "record": bad,
        }
    ]
    figures = run.report["segments"][S]
    assert (figures["upserted"], figures["memberships_added"], figures["rejected"]) == (
        len(others),
        len(others),
        {"api_rejected": 1},
    )
    requests = run.report["requests"]["by_endpoint"]
    assert {name: count for name, count in requests.items() if name.startswith("POST /contact")} == endpoints


SEGMENTED = schema(S, {"email": {"type": "string"}, "segments": {"type": ["array", "null"]}})


def segmented(*people: tuple[str, list[str]]) -> list[dict[str, Any]]:
    """A complete read of the stream: each person with the segments (lists) they belong to."""
    return [
        SEGMENTED,
        activate_version(S),
        *[record(S, email=address, segments=lists) for address, lists in people],
        state({"run": 1}),
    ]


@pytest.mark.parametrize("sandbox", [{"refuse": [ADD_MEMBER]}], indirect=True)
def test_a_refused_membership_is_written_in_autopilot_s_words(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(
        sandbox, segment_property="segments", list_assignment="per_contact", max_rejected_fraction=1
    )
    assert run_target(config, segmented(("ada@example.com", ["vip"]))).code == 0

    # ada is stored as she is: only her new list is sent; dee is new: upserted into one list, then added
    # to the other.
    run = run_target(
        config, segmented(("ada@example.com", ["vip", "gold"]), ("dee@example.com", ["gold", "vip"]))
    )

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"gold": ["dee@example.com"], "vip": ["ada@example.com"]}
    assert sorted(run.rejected, key=lambda line: line["record"]["email"]) == [
        {
            "stream": S,
            "reason": "membership_rejected",
            "message": f"Autopilot refused to add to list {title!r} (HTTP 403): {FORBIDDEN}",
            "record": {
                "email": address,
                "segments": ["vip", "gold"] if address == "ada@example.com" else ["gold", "vip"],
            },
        }
        for address, title in (("ada@example.com", "gold"), ("dee@example.com", "vip"))
    ]
    assert run.report["requests"]["by_endpoint"] == {
        "GET /account": 1,
        "GET /lists": 1,
        "GET /list/{list_id}/contacts": 1,
        "POST /list": 1,
        "POST /contact": 1,
        "POST /list/{list_id}/contact/{email}": 2,
    }
    assert {title: figures["rejected"] for title, figures in run.report["segments"].items()} == {
        "gold": {"membership_rejected": 2},  # counted in each list of the person
        "vip": {"membership_rejected": 2},
    }


@pytest.mark.parametrize("refuse", [True, False], ids=["refused", "not-found"])
def test_a_removal_is_refused_in_autopilot_s_words_and_a_404_is_done(
    refuse: bool, sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(sandbox, segment_property="segments", sync_mode="mirror", max_removal_fraction=1)
    assert run_target(config, segmented(("ada@example.com", ["vip"]), ("bob@example.com", ["vip"]))).code == 0
    if refuse:
        sandbox.configure(refuse=[DELETE_MEMBER])
        leaver = "bob@example.com"
    else:
        # Someone added by hand with a decomposed address: the target reads it in composed form (NFC), the
        # form Autopilot cannot find, so its DELETE is answered 404, as when it had already taken effect.
        leaver = unicodedata.normalize("NFD", "josé@example.com")
        [list_id] = [item["list_id"] for item in by_hand(sandbox, "GET", "lists")["lists"]]
        by_hand(sandbox, "POST", "contact", body={"contact": {"Email": leaver, "_autopilot_list": list_id}})
    sandbox.reset_stats()

    run = run_target(
        config, segmented(("ada@example.com", ["vip"]), *([] if refuse else [("bob@example.com", ["vip"])]))
    )

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"vip": sorted({"ada@example.com", "bob@example.com", leaver})}
    assert run.rejected == (
        [
            {
                "stream": S,
                "reason": "removal_rejected",
                "message": f"Autopilot refused to remove from list 'vip' (HTTP 403): {FORBIDDEN}",
                "record": {"email": leaver, "list": "vip"},
            }
        ]
        if refuse
        else []
    )
    figures = run.report["segments"]["vip"]
    assert (figures["removed"], figures["rejected"]) == ((0, {"removal_rejected": 1}) if refuse else (1, {}))
    assert run.report["requests"]["by_endpoint"] == {
        "GET /account": 1,
        "GET /lists": 1,
        "GET /list/{list_id}/contacts": 1,
        "DELETE /list/{list_id}/contact/{email}": 1,
    }


@pytest.mark.parametrize(
    "sandbox",
    [{"fault_rate": 0.3, "fault_kinds": ("500",), "fault_after_apply": 1.0, "seed": 5}],
    indirect=True,
)
def test_a_membership_a_failed_request_already_made_counts_as_present(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    # Every fault comes after Autopilot stored the change: a retried membership finds it made.
    config = target_config(sandbox, segment_property="segments", list_assignment="per_contact")
    everyone = [(email(i), ["gold", "vip"]) for i in range(40)]

    run = run_target(config, segmented(*everyone))

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"gold": [email(i) for i in range(40)], "vip": [email(i) for i in range(40)]}
    vip = run.report["segments"]["vip"]  # each joined vip by its own request, after its upsert into gold
    assert vip["memberships_added"] + vip["memberships_present"] == 40
    assert vip["memberships_present"] > 0, "no membership request met a fault after it was applied"


def systematic(refused: int, judged: int, first: str) -> str:
    return (
        f"Autopilot refused {refused} of the first {judged} profiles for the same reason, e.g. Autopilot "
        f"refused to upsert (HTTP 400): Contact at index 0 ({first}): {NO_NICKNAME} The export stopped "
        "instead of sending the rest one by one; no STATE was written. Fix the cause (often field_mapping), "
        "then run it again."
    )


# The bulks of one run are judged in the order they finish, which varies: each case is one bulk of new
# profiles, or bulks whose verdict does not depend on their order.
@pytest.mark.parametrize(
    ("stored", "new", "nicknamed", "titled", "stop"),
    [
        # FIRST = 100 profiles are judged: more than SHARE = half of them refused for one reason stops the
        # run.
        (0, 100, range(51), (), systematic(51, 100, email(0))),
        (0, 100, range(50), (), None),  # exactly half is not more than half
        (0, 99, range(99), (), None),  # fewer than FIRST: no verdict yet
        # Two reasons, neither of them more than half.
        (0, 100, range(40), range(40, 80), None),
        # Profiles Autopilot already stores as staged count as judged: they prove the setup works.
        (50, 100, range(50, 126), (), systematic(76, 150, email(50))),
        (50, 100, range(50, 125), (), None),
        # Only the first WINDOW = 200 profiles are judged: the second bulk of 100 refusals comes after them.
        (100, 200, range(100, 300), (), None),
    ],
    ids=["51-of-100", "50-of-100", "99-of-99", "two-reasons", "76-of-150", "75-of-150", "past-the-window"],
)
@pytest.mark.parametrize("sandbox", [{"custom_fields": "must-exist"}], indirect=True)
def test_a_systematic_refusal_is_judged_on_the_first_profiles(
    stored: int,
    new: int,
    nicknamed: range,
    titled: range,
    stop: str | None,
    sandbox: Sandbox,
    run_target: RunTarget,
) -> None:
    config = target_config(
        sandbox,
        field_mapping={"Nickname": "nickname", "Title2": "title2"},
        list_assignment="bulk",
        max_rejected_fraction=1,
    )
    header = schema(S, ["email", "nickname", "title2"])
    if stored:
        assert run_target(config, [header, *[record(S, email=email(i)) for i in range(stored)]]).code == 0
    messages = [
        header,
        *[
            record(
                S,
                email=email(i),
                **({"nickname": "Lucky"} if i in nicknamed else {}),
                **({"title2": "Dr"} if i in titled else {}),
            )
            for i in range(stored + new)
        ],
        state({"run": 1}),
    ]

    run = run_target(config, messages)

    refused = sorted(email(i) for i in [*nicknamed, *titled])
    assert sorted(line["record"]["email"] for line in run.rejected) == refused
    assert sandbox.lists() == {S: sorted({email(i) for i in range(stored + new)} - set(refused))}
    if stop is None:
        assert run.code == 0, run.stderr
        assert run.states == [{"run": 1}]
        assert "for the same reason" not in run.stderr
    else:
        assert run.code == 1
        assert run.states == []
        assert run.report["failure"] == stop
        assert f"| ERROR    | target-autopilot               | {stop}" in run.stderr


@pytest.mark.parametrize("refuse", [True, False], ids=["refused", "answered"])
def test_an_account_check_autopilot_refuses_is_only_a_warning(
    refuse: bool, sandbox: Sandbox, run_target: RunTarget
) -> None:
    if refuse:
        sandbox.configure(refuse=["GET /v1/account"])

    run = run_target(target_config(sandbox), [schema(S, ["email"]), record(S, email="ada@example.com")])

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {S: ["ada@example.com"]}
    warning = f"GET /account answered 403 ({FORBIDDEN}); going on"
    assert [
        line.split(" | ")[-1] for line in logged_at("WARNING", run.stderr).splitlines() if "/account" in line
    ] == ([warning] if refuse else [])


@pytest.mark.parametrize("list_assignment", ["bulk", "per_contact"])
def test_notify_rides_along_each_contact_and_its_list(
    list_assignment: str, sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(
        sandbox, segment_property="segments", list_assignment=list_assignment, notify=False
    )

    run = run_target(config, segmented(("ada@example.com", ["gold", "vip"]), ("bob@example.com", ["vip"])))

    assert run.code == 0, run.stderr
    assert run.rejected == []
    assert sandbox.lists() == {"gold": ["ada@example.com"], "vip": ["ada@example.com", "bob@example.com"]}
