"""What an Ortto run announces: the merge requests it is about to send, or a dry run's fields to create."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import custom_fields, ortto_config
from tests.target.support import RunTarget, record, schema

MAPPING = {"Score": "score", "string--Plan": "plan"}
SCHEMA = {"email": {"type": ["string"]}, "score": {"type": ["number"]}, "plan": {"type": ["string"]}}


def people(emails: list[str], score: float = 1.5) -> list[dict[str, Any]]:
    return [record("vip", email=email, score=score, plan="gold") for email in emails]


def test_a_mirror_run_announces_its_merges_people_first_then_leavers(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = ortto_config(sandbox, field_mapping=MAPPING)
    week1 = [f"p{i}@example.com" for i in range(10)]
    first = run_target(config, [schema("vip", SCHEMA), *people(week1)])
    assert first.code == 0, first.stderr
    sandbox.reset_stats()
    week2 = week1[:8] + [f"n{i}@example.com" for i in range(150)]
    messages = [schema("vip", SCHEMA), *people(week2[:1], score=2.5), *people(week2[1:])]

    run = run_target({**config, "sync_mode": "mirror", "complete_streams": "sent"}, messages)

    assert run.code == 0, run.stderr
    assert (
        "Applying: about 3 requests (person/merge, 100 people at most each) at up to 500 requests/s "
        "(7 profiles unchanged, not sent; 2 removals)\n"
    ) in run.stderr
    assert sandbox.stats()["merge_sizes"] == {"100": 1, "51": 1, "2": 1}  # 151 people, then 2 leavers
    assert sorted(sandbox.tags()["vip"]) == sorted(week2)
    assert sandbox.person("p9@example.com") is not None  # a leaver loses the tag, not their profile


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_only_a_dry_run_names_the_fields_it_would_create(
    sandbox: Sandbox, run_target: RunTarget, dry_run: bool
) -> None:
    config = ortto_config(sandbox, field_mapping=MAPPING, dry_run=dry_run)

    run = run_target(config, [schema("vip", SCHEMA), *people(["a@example.com"])])

    assert run.code == 0, run.stderr
    announced = "Dry run: would create the custom fields 'Score', 'Plan'\n" in run.stderr
    assert announced is dry_run
    assert sorted(custom_fields(sandbox)) == ([] if dry_run else ["int:cm:score", "str:cm:plan"])
    assert sandbox.tags() == ({} if dry_run else {"vip": ["a@example.com"]})


def test_a_merge_over_2_mb_is_sent_again_in_halves(sandbox: Sandbox, run_target: RunTarget) -> None:
    names = [f"f{i}" for i in range(30)]
    wide = "€" * 255  # 765 bytes: 30 of them for 100 people make a body over 2 MB
    messages = [schema("vip", ["email", *names])]
    messages += [record("vip", email=f"p{i}@example.com", **dict.fromkeys(names, wide)) for i in range(100)]
    config = ortto_config(sandbox, field_mapping={f"string--{name}": name for name in names})

    run = run_target(config, messages)

    assert run.code == 0, run.stderr
    assert run.rejected == []
    stats = sandbox.stats()
    assert stats["by_endpoint"]["POST /v1/person/merge"] == {"413": 1, "200": 2}
    assert stats["merge_sizes"] == {"50": 2}
    assert len(sandbox.tags()["vip"]) == 100


@pytest.fixture
def merges_refused(sandbox: Sandbox) -> Iterator[Sandbox]:
    """Every merge answered 403 (`refuse` is not among the switches the module's sandbox resets)."""
    sandbox.configure(refuse=["POST /v1/person/merge"])
    yield sandbox
    sandbox.configure(refuse=[])


def test_a_refused_merge_rejects_its_people_with_the_answer(
    merges_refused: Sandbox, run_target: RunTarget
) -> None:
    sandbox = merges_refused
    messages = [
        schema("vip", ["email"]),
        record("vip", email="a@example.com"),
        record("vip", email="b@example.com"),
    ]

    run = run_target(ortto_config(sandbox, max_rejected_fraction=1), messages)

    assert run.code == 0, run.stderr
    message = "Ortto answered refused: HTTP 403: Forbidden (refused by the sandbox's `refuse` setting)"
    assert [(line["record"]["email"], line["reason"], line["message"]) for line in run.rejected] == [
        ("a@example.com", "api_rejected", message),
        ("b@example.com", "api_rejected", message),
    ]
    assert run.report["rejected"] == {"api_rejected": 2}
    assert sandbox.tags() == {}


def test_a_person_sent_for_one_tag_loses_the_mirrored_tag_they_left_in_the_same_merge(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = ortto_config(sandbox, sync_mode="mirror", complete_streams="sent")
    people_schema = [schema(stream, ["email", "first_name"]) for stream in ("vip", "other")]
    week1 = [
        *people_schema,
        record("vip", email="p@example.com", first_name="P"),
        *(record("other", email=f"{name}@example.com", first_name=name) for name in ("p", "q", "r")),
    ]
    assert run_target(config, week1).code == 0
    week2 = [
        *people_schema,
        record("vip", email="p@example.com", first_name="P2"),  # changed: merged with its tags
        *(record("other", email=f"{name}@example.com", first_name=name) for name in ("q", "r")),
    ]
    sandbox.reset_stats()

    run = run_target(config, week2)

    assert run.code == 0, run.stderr
    assert sandbox.tags() == {"vip": ["p@example.com"], "other": ["q@example.com", "r@example.com"]}
    assert sandbox.stats()["merge_sizes"] == {"1": 1}  # one merge sets the name and unsets the tag
    assert run.report["segments"]["other"]["removed"] == 1
