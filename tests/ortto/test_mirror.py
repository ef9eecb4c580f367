"""Mirror, dry run and change detection on Ortto: a leaver's tag is unset after the tag's holders are read,
by the recorded "has tag X" filter; unchanged people are not merged again. Every other position of the
tag-filter switch: test_tag_holders.py."""

from __future__ import annotations

from typing import Any

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config
from tests.target.support import RunTarget, activate_version, record, schema

MAPPING = {"Score": "score"}
SCHEMA = {"email": {"type": ["string"]}, "first_name": {"type": ["string"]}, "score": {"type": ["number"]}}


def people(count: int, changed: str = "") -> list[dict[str, Any]]:
    return [
        record(
            "vip",
            email=f"p{i}@example.com",
            first_name=f"P{i}" + (changed if i == 0 else ""),
            score=i + 0.25,
        )
        for i in range(count)
    ]


def test_mirror_unsets_leavers_tags_after_a_dry_run_that_writes_nothing(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    first = run_target(ortto_config(sandbox, field_mapping=MAPPING), [schema("vip", SCHEMA), *people(10)])
    assert first.code == 0, first.stderr
    other = run_target(
        ortto_config(sandbox), [schema("other", ["email"]), record("other", email="p9@example.com")]
    )
    assert other.code == 0, other.stderr
    mirror = ortto_config(sandbox, field_mapping=MAPPING, sync_mode="mirror", complete_streams="sent")
    week2 = [schema("vip", SCHEMA), *people(8, changed="!")]
    sandbox.reset_stats()

    dry = run_target({**mirror, "dry_run": True}, week2)

    assert dry.code == 0, dry.stderr
    assert dry.states == []
    assert "POST /v1/person/merge" not in sandbox.stats()["by_endpoint"]
    assert len(sandbox.tags()["vip"]) == 10
    plan = dry.report["segments"]["vip"]["plan"]
    assert (plan["tag"], plan["holders_now"], plan["to_update"], plan["unchanged"], plan["to_remove"]) == (
        "exists",
        10,
        1,
        7,
        2,
    )
    assert "Dry run, segment 'vip': tag exists (mirrored); 10 holders now;" in dry.stderr
    assert plan["examples"]["to_remove"] == ["p8@example.com", "p9@example.com"]

    real = run_target(mirror, week2)

    assert real.code == 0, real.stderr
    tags = sandbox.tags()
    assert tags["vip"] == [f"p{i}@example.com" for i in range(8)]
    assert tags["other"] == ["p9@example.com"]  # a tag the run does not manage stays
    assert sandbox.person("p8@example.com") is not None  # untagged, never deleted
    assert sandbox.person("p0@example.com")["fields"]["str::first"] == "P0!"  # type: ignore[index]
    assert real.report["segments"]["vip"]["removed"] == 2
    assert real.report["unchanged"] == 7
    assert merges(sandbox.stats()) == {"200": 2}  # p0 changed; the two leavers, never created
    assert sum(sandbox.stats()["merge_sizes"].values()) == 2


def test_the_guard_stops_a_mirror_that_would_empty_a_tag(sandbox: Sandbox, run_target: RunTarget) -> None:
    assert run_target(ortto_config(sandbox), [schema("vip", SCHEMA), *people(4)]).code == 0
    sandbox.reset_stats()

    stopped = run_target(
        ortto_config(sandbox, sync_mode="mirror"), [schema("vip", SCHEMA), activate_version("vip")]
    )

    assert stopped.code != 0
    assert "'vip' holds 4 members and would lose 4" in stopped.stderr
    assert "POST /v1/person/merge" not in sandbox.stats()["by_endpoint"]
    assert len(sandbox.tags()["vip"]) == 4
