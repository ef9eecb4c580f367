"""Full-table reads announce complete segments (ACTIVATE_VERSION), which mirror mode keeps in step;
incremental reads send only what changed, never remove anyone (mirror mode included), and a failed run
leaves Meltano's state where it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from target_autopilot.sandbox import SandboxControl
from tests.warehouse.conftest import target_settings
from tests.warehouse.data import (
    CUSTOMERS,
    FIELD_MAPPING,
    SEGMENT_TITLES,
    UTC,
    VIEWS,
    Customer,
    expected_views_lists,
    insert_customers,
    updated_at,
)
from tests.warehouse.postgres import Postgres
from tests.warehouse.project import MeltanoProject

pytestmark = pytest.mark.meltano
Account = Callable[[str], SandboxControl]
INCREMENTAL = "tap-postgres-incremental"


def test_full_table_reads_announce_each_segment_version(project: MeltanoProject) -> None:
    messages = project.tap_messages("tap-postgres")
    for stream in SEGMENT_TITLES:
        own = [m for m in messages if m.get("stream") == stream]
        activations = [m for m in own if m["type"] == "ACTIVATE_VERSION"]
        records = [m for m in own if m["type"] == "RECORD"]
        assert len(activations) == 1, stream
        assert own.index(activations[0]) < own.index(records[0]), "ACTIVATE_VERSION comes before the records"
        assert {m["version"] for m in records} == {activations[0]["version"]}, stream


def test_incremental_reads_do_not_announce_versions(project: MeltanoProject) -> None:
    messages = project.tap_messages(INCREMENTAL)
    assert [m for m in messages if m["type"] == "RECORD"], "the tap read nothing"
    assert not [m for m in messages if m["type"] == "ACTIVATE_VERSION"]


def test_mirror_removes_who_left_a_full_table_segment(
    project: MeltanoProject, warehouse: Postgres, account: Account, outputs: dict[str, Path]
) -> None:
    autopilot = account("mirror")
    settings = target_settings(
        autopilot, outputs, segments=SEGMENT_TITLES, field_mapping=FIELD_MAPPING, sync_mode="mirror"
    )
    project.run("tap-postgres", settings)
    assert autopilot.lists() == expected_views_lists()

    warehouse.sql("UPDATE customers SET lifetime_value = 10 WHERE customer_id = 1")  # Ada leaves
    project.run("tap-postgres", settings)
    now = [replace(c, lifetime_value=Decimal(10)) if c.customer_id == 1 else c for c in CUSTOMERS]
    assert autopilot.lists() == expected_views_lists(now)
    assert "ada@example.com" not in autopilot.lists()[SEGMENT_TITLES["high_value_customers"]]
    report = json.loads(outputs["report"].read_text())
    assert report["segments"][SEGMENT_TITLES["high_value_customers"]]["removed"] == 1
    assert autopilot.contact("ada@example.com") is not None, "a leaver leaves the list, not Autopilot"


def bookmarks(project: MeltanoProject) -> dict[str, datetime]:
    stored = project.state(INCREMENTAL)["singer_state"]["bookmarks"]
    return {stream: datetime.fromisoformat(b["replication_key_value"]) for stream, b in stored.items()}


def test_incremental_runs_add_changes_remove_no_one_and_resume_after_a_failure(
    project: MeltanoProject, warehouse: Postgres, account: Account, outputs: dict[str, Path]
) -> None:
    autopilot = account("incremental")
    # mirror: an incremental read sends no ACTIVATE_VERSION, so no list is whole and no one is removed
    settings = target_settings(
        autopilot, outputs, segments=SEGMENT_TITLES, field_mapping=FIELD_MAPPING, sync_mode="mirror"
    )
    project.run(INCREMENTAL, settings)
    first = expected_views_lists()
    assert autopilot.lists() == first
    after_first = bookmarks(project)
    assert after_first == {
        f"segments-{name}": max(updated_at(c) for c in CUSTOMERS if in_view(c))
        for name, (_, in_view) in VIEWS.items()
    }

    # Ada leaves the high-value segment; Linus joins it.
    changed_at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    linus = Customer(8, "linus@example.org", "Linus", "Torvalds", None, "Gold", 3, Decimal("4200.00"), True,
                     None, None, changed_at)  # fmt: skip
    warehouse.sql(
        f"UPDATE customers SET lifetime_value = 10, updated_at = '{changed_at}' WHERE customer_id = 1;\n"
        + insert_customers([linus])
    )

    # A run that fails (the key is refused) sends nothing and stores no state.
    failed = project.run(INCREMENTAL, {**settings, "api_key": "revoked-key"}, check=False)
    assert failed.returncode != 0
    assert "Loader failed" in failed.stderr
    assert bookmarks(project) == after_first

    # The next run reads what changed since the stored bookmark, Ada included, and adds Linus.
    project.run(INCREMENTAL, settings)
    high_value = SEGMENT_TITLES["high_value_customers"]
    expected = {**first, high_value: sorted([*first[high_value], "linus@example.org"])}
    assert autopilot.lists() == expected, "incremental runs never remove anyone"
    report = json.loads(outputs["report"].read_text())
    # Each view sends its rows at or after its bookmark (the tap's bound is inclusive).
    assert report["segments"][high_value]["records"] == 1 + sum(
        1 for c in CUSTOMERS if updated_at(c) == after_first["segments-high_value_customers"]
    )
    assert bookmarks(project)["segments-high_value_customers"] == changed_at
