"""Shared fixtures: `sandbox`, a running sandbox of both APIs (rate limits off), `sandbox_factory`, and
`run_target`, which runs the real `target-autopilot` CLI in a process of its own (tests/target/forked.py).

def test_something(sandbox): ...                       # defaults, rate limit off
@pytest.mark.parametrize("sandbox", [{"bulk_list_assignment": "off"}], indirect=True)
def test_other(sandbox): ...                           # other options
def test_two(sandbox_factory): a = sandbox_factory(api_keys=("k1", "k2"))

`make test` runs the suite on every core (pytest-xdist, `--dist loadgroup`) in a random order
(pytest-randomly). A test that uses a module-, class- or package-scoped fixture of this suite runs on
the same worker as the other tests of that scope (`pytest_collection_modifyitems` below), so the fixture
is set up once; everything else a test needs must be its own: files under `tmp_path`, servers on
port 0, nothing written into the checkout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox
from tests.target import in_process
from tests.target.support import Run, RunTarget, run_cli

SandboxFactory = Callable[..., Sandbox]
# Scopes wider than a test, widest first; a session-scoped fixture of the suite would need its own group.
SHARED_SCOPES = ("package", "module", "class")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target-in-process",
        action="store_true",
        help="run the target inside the test process (`make mutants`): tests/target/in_process.py",
    )
    parser.addoption(
        "--target-subprocess",
        action="store_true",
        help="run the installed target-autopilot script, not a child forked from the test process",
    )


def pytest_configure(config: pytest.Config) -> None:
    in_process.enabled = bool(config.getoption("--target-in-process"))
    in_process.subprocesses = bool(config.getoption("--target-subprocess"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each test that shares a fixture wider than itself the xdist group of that fixture's scope."""
    for item in items:
        if isinstance(item, pytest.Function) and item.get_closest_marker("xdist_group") is None:
            group = shared_scope(item)
            if group is not None:
                item.add_marker(pytest.mark.xdist_group(group))


def shared_scope(item: pytest.Function) -> str | None:
    """The node id of the widest scope whose fixture of this suite `item` uses, if any."""
    scopes = {
        definition.scope: definition.baseid
        for definitions in item._fixtureinfo.name2fixturedefs.values()
        for definition in definitions
        if definition.scope in SHARED_SCOPES and definition.func.__module__.startswith("tests.")
    }
    module, _, rest = item.nodeid.partition("::")
    for scope in SHARED_SCOPES:
        if scope in scopes:
            if scope == "package":
                return str(scopes[scope]) or "tests"
            if scope == "class" and "::" in rest:
                return f"{module}::{rest.split('::')[0]}"
            return module
    return None


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    """One sandbox of both APIs (rate limits off) for a whole test module; a folder's `sandbox` fixture
    resets it before each test (tests/ortto, tests/synclog, tests/wrong_data)."""
    sandbox = run_sandbox(rate_limit=0, ortto_rate_limit=0).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandboxes with `SandboxConfig` options (rate limits off unless given); all stop after."""
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        sandbox = run_sandbox(**{"rate_limit": 0, "ortto_rate_limit": 0, **options}).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> Sandbox:
    """A running sandbox; options through `@pytest.mark.parametrize(..., indirect=True)`."""
    return sandbox_factory(**getattr(request, "param", {}))


@pytest.fixture
def run_target(tmp_path: Path) -> RunTarget:
    """Run the CLI with `config` on `messages` (dicts, or raw lines as strings)."""
    counter = iter(range(1000))

    def run(config: dict[str, Any], messages: Iterable[dict[str, Any] | str], *, timeout: float = 120) -> Run:
        return run_cli(tmp_path, config, messages, name=f"run-{next(counter)}", timeout=timeout)

    return run
