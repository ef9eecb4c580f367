"""`meltano run tap-postgres target-autopilot` from a real PostgreSQL into the sandbox, in a Meltano
project that added the loader from its Hub definition."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import SandboxControl
from tests.warehouse.conftest import target_settings
from tests.warehouse.data import (
    CUSTOMER_SEGMENTS,
    CUSTOMERS,
    FIELD_MAPPING,
    SEGMENT_TITLES,
    VIEWS,
    address,
    expected_views_lists,
    members,
)
from tests.warehouse.project import MeltanoProject

pytestmark = pytest.mark.meltano
Account = Callable[[str], SandboxControl]


def iso_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="module")
def views_export(
    project: MeltanoProject, account: Account, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The repository's configuration: one view per segment, full table, lists named by `segments`."""
    out = tmp_path_factory.mktemp("views")
    outputs = {"rejected": out / "rejected.jsonl", "report": out / "report.json"}
    settings = target_settings(
        account("views"), outputs, segments=SEGMENT_TITLES, field_mapping=FIELD_MAPPING
    )
    project.run("tap-postgres", settings)
    return outputs


def test_each_view_lands_as_a_list_of_its_rows(views_export: dict[str, Path], account: Account) -> None:
    assert account("views").lists() == expected_views_lists()


def test_column_types_reach_autopilot_as_typed_custom_fields(
    views_export: dict[str, Path], account: Account
) -> None:
    autopilot = account("views")
    fields = next(a for a in autopilot.dump()["accounts"] if a["account_id"] == autopilot.account_id)[
        "custom_fields"
    ]
    assert {f["name"]: f["fieldType"] for f in fields} == {
        "Loyalty Tier": "string",
        "Orders": "integer",
        "Lifetime Value": "float",
        "Newsletter": "boolean",
        "Signup Date": "date",
        "Last Order At": "date",
    }
    for customer in CUSTOMERS:
        email = address(customer)
        if email is None:
            continue
        contact = autopilot.contact(email)
        assert contact is not None, email
        assert (contact["FirstName"], contact["LastName"], contact.get("Company")) == (
            customer.first_name,
            customer.last_name,
            customer.company,
        )
        values: dict[str, Any] = {
            "Loyalty Tier": customer.loyalty_tier,
            "Orders": customer.orders,
            "Lifetime Value": None if customer.lifetime_value is None else float(customer.lifetime_value),
            "Newsletter": customer.newsletter,
            "Signup Date": None if customer.signup_date is None else f"{customer.signup_date}T00:00:00.000Z",
            "Last Order At": None if customer.last_order_at is None else iso_utc(customer.last_order_at),
        }
        # NULLs are not sent: the field is absent from the contact.
        expected = {name: value for name, value in values.items() if value is not None}
        assert {f["kind"]: f["value"] for f in contact["custom_fields"]} == expected, email


def test_rows_without_a_valid_email_are_in_the_rejected_file(views_export: dict[str, Path]) -> None:
    lines = [json.loads(line) for line in views_export["rejected"].read_text().splitlines()]
    rejected = Counter((line["record"]["customer_id"], line["reason"]) for line in lines)
    expected = Counter(
        (c.customer_id, "missing_email" if c.email is None else "invalid_email")
        for name, (_, in_view) in VIEWS.items()
        for c in CUSTOMERS
        if in_view(c) and address(c) is None
    )
    assert rejected == expected


def test_meltano_stores_the_full_table_state(views_export: dict[str, Path], project: MeltanoProject) -> None:
    bookmarks = project.state("tap-postgres")["singer_state"]["bookmarks"]
    assert set(bookmarks) == {f"segments-{name}" for name in SEGMENT_TITLES}


def test_a_segment_column_names_the_lists(
    project: MeltanoProject, account: Account, outputs: dict[str, Path]
) -> None:
    autopilot = account("table")
    project.run(
        "tap-postgres-table",
        target_settings(autopilot, outputs, segment_property="segment", field_mapping=FIELD_MAPPING),
    )
    by_id = {c.customer_id: c for c in CUSTOMERS}
    expected = {
        segment: members([by_id[cid] for cid, s in CUSTOMER_SEGMENTS if s == segment])
        for segment in {s for _, s in CUSTOMER_SEGMENTS}
    }
    assert autopilot.lists() == expected
    report = json.loads(outputs["report"].read_text())
    assert report["status"] == "completed"
    assert report["records"] == len(CUSTOMER_SEGMENTS)
