"""Shared by the warehouse tests: one PostgreSQL, one Meltano project and one sandbox for the folder.

Each configuration exports into its own sandbox account (`account("name")`), so runs do not see each
other's lists. A new scenario is a few lines:

    def test_x(project, warehouse, account, outputs):
        autopilot = account("x")  # and "x" in ACCOUNTS
        project.run("tap-postgres", target_settings(autopilot, outputs))
        warehouse.sql("UPDATE customers SET ...")  # put back after the test
        project.run("tap-postgres", target_settings(autopilot, outputs, some_setting=...))
        assert autopilot.lists() == ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox, SandboxControl, run_sandbox
from tests.warehouse.data import reset_customers_sql, setup_sql
from tests.warehouse.postgres import Postgres
from tests.warehouse.project import MeltanoProject, clean_environment

# One sandbox account per configuration that exports.
ACCOUNTS = ("views", "table", "incremental", "mirror", "early-stop")


@pytest.fixture(scope="package")
def postgres() -> Iterator[Postgres]:
    with Postgres() as server:
        server.sql(setup_sql())
        yield server


@pytest.fixture
def warehouse(postgres: Postgres) -> Iterator[Postgres]:
    """The database, for a test that changes `customers`: put back as it was afterwards."""
    yield postgres
    postgres.sql(reset_customers_sql())


@pytest.fixture(scope="package")
def server() -> Iterator[Sandbox]:
    with run_sandbox(rate_limit=0, api_keys=ACCOUNTS) as sandbox:
        yield sandbox


@pytest.fixture(scope="package")
def account(server: Sandbox) -> Callable[[str], SandboxControl]:
    """The sandbox as seen with one account's key."""
    return lambda name: SandboxControl(server.url, api_key=name)


@pytest.fixture(scope="package")
def project(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres) -> MeltanoProject:
    env = clean_environment()
    env["MELTANO_ENVIRONMENT"] = "dev"
    env["MELTANO_STATE_BACKEND_URI"] = tmp_path_factory.mktemp("state").as_uri()
    # The database, as README tells a user to give it: environment variables, not meltano.yml.
    env.update(
        TAP_POSTGRES_HOST="127.0.0.1",
        TAP_POSTGRES_PORT=str(postgres.port),
        TAP_POSTGRES_USER=postgres.user,
        TAP_POSTGRES_PASSWORD=postgres.password,
        TAP_POSTGRES_DATABASE=postgres.database,
    )
    return MeltanoProject.create(tmp_path_factory.mktemp("meltano"), env)


@pytest.fixture
def outputs(tmp_path: Path) -> dict[str, Path]:
    return {"rejected": tmp_path / "rejected.jsonl", "report": tmp_path / "report.json"}


def target_settings(autopilot: SandboxControl, outputs: dict[str, Path], **settings: Any) -> dict[str, Any]:
    """The target's settings for a run into `autopilot`, writing its files to `outputs`."""
    return {
        "api_url": autopilot.base_url,
        "api_key": autopilot.api_key,
        "rejected_records_path": str(outputs["rejected"]),
        "report_path": str(outputs["report"]),
        **settings,
    }
