"""What a user reads under `meltano run`: the target's lines at their level, and an early stop that ends
as a plain "Loader failed" right after the target's reason (no BrokenPipeError traceback)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from target_autopilot.sandbox import SandboxControl
from tests.warehouse.conftest import target_settings
from tests.warehouse.postgres import Postgres
from tests.warehouse.project import MeltanoProject

pytestmark = pytest.mark.meltano
# Enough rows that the tap is still writing when the target stops.
BULK_ROWS = 5_000
LOG_LINE = re.compile(r"^\S+ \[(?P<level>\w+)\s*\] (?P<source>\S+)\s+(?P<message>.*)$")


class LogLine(NamedTuple):
    level: str
    source: str
    message: str


def log_lines(stderr: str) -> list[LogLine]:
    return [LogLine(**m.groupdict()) for line in stderr.splitlines() if (m := LOG_LINE.match(line))]


@pytest.fixture(scope="module")
def bulk_table(postgres: Postgres) -> Iterator[None]:
    """Schema `bulk`: a table without an email column, read first, then many rows."""
    postgres.sql(
        "CREATE SCHEMA bulk;\n"
        "CREATE TABLE bulk.a_no_email AS SELECT 1 AS customer_id, 'Nobody' AS first_name;\n"
        "CREATE TABLE bulk.everyone AS SELECT i AS customer_id, 'person' || i || '@example.com' AS email,\n"
        f"  'Person ' || i AS first_name FROM generate_series(1, {BULK_ROWS}) AS i;\n"
    )
    yield
    postgres.sql("DROP SCHEMA bulk CASCADE;")


@pytest.mark.parametrize(
    ("extractor", "settings", "reason_says"),
    [
        # Stops at start-up, before the tap writes much: a small read will do.
        pytest.param(
            "tap-postgres-table",
            {"api_url": "http://example.com/v1"},
            "plain http:// to a non-loopback host",
            id="config",
        ),
        # Stops at the first stream while the tap goes on writing the second: without reading the rest of
        # the input first, this ends in Meltano's BrokenPipeError traceback.
        pytest.param("tap-postgres-bulk", {}, "Stream 'bulk-a_no_email' has no email property", id="input"),
    ],
)
def test_an_early_stop_ends_as_loader_failed_right_after_the_reason(
    extractor: str,
    settings: dict[str, str],
    reason_says: str,
    bulk_table: None,
    project: MeltanoProject,
    account: Callable[[str], SandboxControl],
    outputs: dict[str, Path],
) -> None:
    result = project.run(extractor, target_settings(account("early-stop"), outputs, **settings), check=False)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr
    # The tap may still log while Meltano stops it, after the target's last line: its lines are left out.
    lines = [line for line in log_lines(result.stderr) if line.source in ("target-autopilot", "meltano")]
    reason = [line for line in lines if line.source == "target-autopilot"][-1]
    assert reason.level == "error"
    assert reason_says in reason.message
    after = lines[lines.index(reason) + 1 :]
    assert (after[0].level, after[0].source, after[0].message) == ("error", "meltano", "Loader failed")
    # The target's other lines keep their own level.
    assert any(line.level == "info" and line.source == "target-autopilot" for line in lines)
