"""A dry run on Ortto reads and plans, and leaves the account exactly as it was: no person merged, no custom
field or tag created, even when the mapping names a field the account does not have yet."""

from __future__ import annotations

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import custom_fields, ortto_config
from tests.target.support import RunTarget, record, schema

SCHEMA = {"email": {"type": ["string"]}, "score": {"type": ["number"]}, "tier": {"type": ["string"]}}


def test_a_dry_run_creates_no_field_no_tag_and_merges_no_one(sandbox: Sandbox, run_target: RunTarget) -> None:
    first = [schema("vip", SCHEMA), record("vip", email="ada@example.com", score=1.5)]
    assert run_target(ortto_config(sandbox, field_mapping={"Score": "score"}), first).code == 0
    fields_before, tags_before = custom_fields(sandbox), sandbox.tags()
    sandbox.reset_stats()
    # A new field (Tier), a new segment (gold) and a changed value: a real run would write all three.
    week2 = [
        schema("vip", SCHEMA),
        record("vip", email="ada@example.com", score=2.5, tier="Gold"),
        schema("gold", SCHEMA),
        record("gold", email="bo@example.com", score=1.0, tier="Silver"),
    ]
    mapping = {"Score": "score", "Tier": "tier"}

    dry = run_target(ortto_config(sandbox, field_mapping=mapping, dry_run=True), week2)

    assert dry.code == 0, dry.stderr
    assert dry.states == []
    assert custom_fields(sandbox) == fields_before
    assert sandbox.tags() == tags_before
    written = {e for e in sandbox.stats()["by_endpoint"] if e.endswith(("/merge", "/create", "/subscribe"))}
    assert written == set()
    assert sandbox.person("bo@example.com") is None
    assert dry.report["segments"]["gold"]["plan"]["to_add"] == 1

    real = run_target(ortto_config(sandbox, field_mapping=mapping), week2)

    assert real.code == 0, real.stderr
    assert set(custom_fields(sandbox)) == {*fields_before, "str:cm:tier"}
    assert sandbox.tags()["gold"] == ["bo@example.com"]
