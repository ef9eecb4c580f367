"""What the new users' mappings did: a view without a mapped column, a mapping shared between jobs,
and a mapping that sent the wrong column, over the sandbox. None may end in wrong data with exit 0."""

from __future__ import annotations

from typing import Any

from target_autopilot.sandbox import Sandbox
from tests.target.support import (
    RunTarget,
    custom_fields,
    logged_at,
    record,
    schema,
    state,
    target_config,
    writes,
)

TEXT = {"type": ["string", "null"]}
NUMBER = {"type": ["number", "null"]}
CUSTOMERS = {"email": TEXT, "first_name": TEXT, "last_name": TEXT, "lifetime_value": NUMBER}
LEADS = {"email": TEXT, "first_name": TEXT, "last_name": TEXT}


def customers(count: int) -> list[dict[str, Any]]:
    return [
        record(
            "public-seg_customers", email=f"c{i}@example.com", last_name=f"Smith{i}", lifetime_value=i + 0.5
        )
        for i in range(count)
    ]


def leads(count: int) -> list[dict[str, Any]]:
    return [record("public-seg_leads", email=f"l{i}@example.com", last_name=f"Lee{i}") for i in range(count)]


def test_a_view_without_the_column_gives_its_field_no_type(sandbox: Sandbox, run_target: RunTarget) -> None:
    """README's untyped key over two views, one without the column: no type conflict, field absent there."""
    messages = [
        schema("public-seg_customers", CUSTOMERS),
        *customers(3),
        schema("public-seg_leads", LEADS),
        *leads(2),
        state({"done": 1}),
    ]
    run = run_target(target_config(sandbox, field_mapping={"Lifetime Value": "lifetime_value"}), messages)

    assert run.code == 0, run.stderr
    assert run.states == [{"done": 1}]
    assert custom_fields(sandbox.contact("c1@example.com")) == {"Lifetime Value": (1.5, "float")}
    assert custom_fields(sandbox.contact("l1@example.com")) == {}
    assert sorted(sandbox.lists()) == ["public-seg_customers", "public-seg_leads"]


def test_a_shared_mapping_naming_another_jobs_column_warns_and_exports(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """A job reading only seg_leads with the project's merged mapping: a WARNING naming the property and
    the streams read, then the export."""
    mapping = {"float--Lifetime--Value": "lifetime_value", "LastName": "last_name"}
    run = run_target(
        target_config(sandbox, field_mapping=mapping),
        [schema("public-seg_leads", LEADS), *leads(2), state({"done": 1})],
    )

    assert run.code == 0, run.stderr
    assert run.states == [{"done": 1}]
    assert (
        "field_mapping.float--Lifetime--Value names the property 'lifetime_value', which no stream of "
        "this run has (streams read: public-seg_leads)"
    ) in logged_at("WARNING", run.stderr)
    assert sandbox.lists() == {"public-seg_leads": ["l0@example.com", "l1@example.com"]}
    assert (sandbox.contact("l0@example.com") or {})["LastName"] == "Lee0"


def test_a_mapping_that_drops_most_values_stops_before_any_write(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    """`integer--Orders: last_name` drops every value but one: the run stops before any write, naming
    the field, the property, the count and a sample, with no STATE; a dry run says the same."""
    messages = [
        schema("public-seg_customers", CUSTOMERS),
        *customers(21),
        record("public-seg_customers", email="n@example.com", last_name="12"),
        state({"done": 1}),
    ]
    config = target_config(sandbox, field_mapping={"integer--Orders": "last_name"})

    for dry_run in (True, False):
        run = run_target({**config, "dry_run": dry_run}, messages)

        assert run.code == 1, run.stderr
        assert run.states == []
        last = run.stderr.strip().splitlines()[-1]
        assert "| ERROR    |" in last
        assert (
            "21 of 22 values of the field 'integer--Orders' (property 'last_name', e.g. 'Smith0') "
            "cannot be stored, more than max_dropped_fraction = 0.5 allows"
        ) in last
        assert writes(sandbox.stats()) == 0
    assert sandbox.lists() == {}
    assert run.report["values_dropped_by_field"] == [
        {"field": "integer--Orders", "property": "last_name", "values": 22, "dropped": 21}
    ]


def test_dropped_values_under_the_limit_are_reported_per_field_at_warning(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    messages = [
        schema("people", ["email", "orders", "joined"]),
        *[record("people", email=f"p{i}@example.com", orders=str(i), joined="2024-01-02") for i in range(4)],
        record("people", email="x@example.com", orders="seven", joined="yesterday"),
    ]
    mapping = {"integer--Orders": "orders", "date--Joined": "joined"}
    run = run_target(target_config(sandbox, field_mapping=mapping), messages)

    assert run.code == 0, run.stderr
    warned = logged_at("WARNING", run.stderr)
    assert "Values dropped: 1 of the 5 values of field 'integer--Orders' (property 'orders')" in warned
    assert "Values dropped: 1 of the 5 values of field 'date--Joined' (property 'joined')" in warned
    assert sorted(line["field"] for line in run.rejected) == ["date--Joined", "integer--Orders"]
    assert "x@example.com" in sandbox.lists()["people"]
