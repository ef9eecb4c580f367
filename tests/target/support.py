"""Helpers for target tests: Singer messages, runs of the real CLI, and reading the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from target_autopilot.sandbox import SandboxControl
from tests.target import forked, in_process

TARGET = str(Path(sys.executable).with_name("target-autopilot"))


def schema(stream: str, properties: dict[str, Any] | Iterable[str], key: str = "email") -> dict[str, Any]:
    """A SCHEMA message; a list of names means string properties."""
    if not isinstance(properties, dict):
        properties = {name: {"type": ["string", "null"]} for name in properties}
    return {"type": "SCHEMA", "stream": stream, "schema": {"properties": properties}, "key_properties": [key]}


def record(stream: str, **values: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": values}


def state(value: Any) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def activate_version(stream: str) -> dict[str, Any]:
    """The message a tap sends for a stream it reads whole (a full-table read)."""
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": 1}


def by_hand(sandbox: SandboxControl, method: str, *path: str, body: Any = None) -> dict[str, Any]:
    """A change a person makes in Autopilot, through the API (e.g. a list of their own)."""
    answer = requests.request(
        method,
        "/".join([sandbox.base_url, *(quote(part, safe="") for part in path)]),
        json=body,
        headers={"autopilotapikey": sandbox.api_key},
        timeout=10,
    )
    assert answer.ok, answer.text
    return dict(answer.json()) if answer.content else {}


@dataclass
class Run:
    """A finished run of the target: what a user sees."""

    code: int
    stdout: str
    stderr: str
    rejected_path: Path
    report_path: Path
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def states(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def rejected(self) -> list[dict[str, Any]]:
        if not self.rejected_path.exists():
            return []
        return [json.loads(line) for line in self.rejected_path.read_text().splitlines()]

    @property
    def report(self) -> dict[str, Any]:
        return dict(json.loads(self.report_path.read_text()))


RunTarget = Callable[..., Run]


def target_config(sandbox: SandboxControl, **settings: Any) -> dict[str, Any]:
    """Settings pointing the target at `sandbox`, fast unless told otherwise."""
    return {"api_key": sandbox.api_key, "api_url": sandbox.base_url, "requests_per_second": 500, **settings}


def custom_fields(contact: dict[str, Any] | None) -> dict[str, tuple[Any, str]]:
    """A stored contact's custom fields: display name → (value, type)."""
    assert contact is not None
    return {item["kind"]: (item["value"], item["fieldType"]) for item in contact["custom_fields"]}


def requests_to(stats: dict[str, Any], endpoint: str) -> int:
    """How many requests the sandbox answered for "METHOD /v1/template"."""
    return sum(stats["by_endpoint"].get(endpoint, {}).values())


def writes(stats: dict[str, Any]) -> int:
    """How many POST or DELETE requests reached the sandbox."""
    return sum(
        sum(statuses.values())
        for endpoint, statuses in stats["by_endpoint"].items()
        if endpoint.startswith(("POST", "DELETE"))
    )


def run_cli(
    workdir: Path,
    config: dict[str, Any],
    messages: Iterable[dict[str, Any] | str],
    *,
    env: Mapping[str, str] | None = None,
    name: str = "run",
    timeout: float = 120,
) -> Run:
    """Run `target-autopilot --config` in `workdir` on `messages`; files are named after `name`."""
    rejected = workdir / f"{name}-rejected.jsonl"
    report = workdir / f"{name}-report.json"
    full = {"rejected_records_path": str(rejected), "report_path": str(report), **config}
    config_path = workdir / f"{name}-config.json"
    config_path.write_text(json.dumps(full))
    lines = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
    # Each test's runs share their own cache (Ortto's bad-answer ledger), not the user's.
    run_env = {"XDG_CACHE_HOME": str(workdir / ".cache"), **(env or {})}
    if in_process.enabled:
        code, stdout, stderr = in_process.run(workdir, config_path, lines, run_env, name)
        return Run(code, stdout, stderr, rejected, report, full)
    if not in_process.subprocesses:
        code, stdout, stderr = forked.run(workdir, config_path, lines, run_env, name, timeout)
        return Run(code, stdout, stderr, rejected, report, full)
    done = subprocess.run(
        [TARGET, "--config", str(config_path)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=workdir,
        env={**os.environ, **run_env},
    )
    return Run(done.returncode, done.stdout, done.stderr, rejected, report, full)


def start_cli(config_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """`target-autopilot --config` started in its own process, every stream a pipe (`env` added to ours)."""
    return subprocess.Popen(
        [TARGET, "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def logged_at(level: str, stderr: str) -> str:
    """The log lines of `stderr` at `level` (e.g. "WARNING"), one a line."""
    return "\n".join(line for line in stderr.splitlines() if f"| {level.ljust(8)} |" in line)
