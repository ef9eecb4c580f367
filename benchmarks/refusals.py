"""Scenario 9 (issue 17): "2% suppressed, 1% over-long" at N people, for both APIs, first run and an
identical second run; request and 4xx counts from the sandbox, printed as Markdown table rows.

    .venv/bin/python benchmarks/refusals.py 10000 100000 [ortto] [classic]

Ortto: every 50th person's address is on the suppression list, every 100th (another) has a first name
of 300 characters; under `--ortto-mixed-batch per-person` and (at N <= 10,000, where its 4xx are
waited out by the bad-request budget at about one a second) `reject`. Classic has no suppression
list: every 50th person carries a field the account does not have (`--custom-fields must-exist`, so
Autopilot refuses that item and, under `--bulk-partial-failure reject-batch`, its whole bulk).
Runs go as fast as the sandbox answers; the time at the target's default rate is computed from the
request count (Ortto 10 r/s, Classic 5 r/s; the limiter keeps 3% of margin per second).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from target_autopilot.sandbox import SandboxControl, sandbox_process

TARGET = Path(sys.executable).with_name("target-autopilot")
DEFAULT_RATE = {"ortto": 10, "classic": 5}
MARGIN = 1.03


def write_input(path: Path, n: int, api: str) -> list[str]:
    """The Singer file; returns the addresses the API will refuse."""
    refused = []
    with path.open("w", encoding="utf-8") as out:
        properties = {name: {"type": ["string", "null"]} for name in ("email", "first_name", "nickname")}
        schema = {"type": "object", "properties": properties}
        out.write(json.dumps({"type": "SCHEMA", "stream": "people", "schema": schema, "key_properties": []}))
        out.write("\n")
        for i in range(n):
            record: dict[str, Any] = {"email": f"p{i:07d}@example.com", "first_name": f"P{i}"}
            if i % 50 == 7:
                refused.append(record["email"])
                if api == "classic":
                    record["nickname"] = "Lucky"
            if i % 100 == 31:
                record["first_name"] = "x" * 300
            out.write(json.dumps({"type": "RECORD", "stream": "people", "record": record}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"rows": n}}) + "\n")
    return refused


def run_target(sandbox: SandboxControl, source: Path, work: Path, api: str) -> tuple[float, dict[str, Any]]:
    config = {
        "api": api,
        "api_key": sandbox.api_key,
        "api_url": sandbox.base_url,
        "requests_per_second": 100_000,
        "segments": {"people": "VIP"},
        "field_mapping": {"Nickname": "nickname"} if api == "classic" else {},
        "max_profiles": 1_000_000,
        "rejected_records_path": str(work / "rejected.jsonl"),
        "report_path": str(work / "report.json"),
    }
    path = work / "config.json"
    path.write_text(json.dumps(config))
    started = time.monotonic()
    with source.open() as stdin:
        done = subprocess.run(
            [str(TARGET), "--config", str(path)], stdin=stdin, capture_output=True, text=True, check=False
        )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return wall, json.loads((work / "report.json").read_text())


def figures(stats: dict[str, Any], api: str, wall: float) -> str:
    statuses = stats["by_status"]
    total = stats["requests_total"]
    bad = sum(count for status, count in statuses.items() if status.startswith("4"))
    writes = "POST /v1/person/merge" if api == "ortto" else "POST /v1/contacts"
    sent = sum(stats["by_endpoint"].get(writes, {}).values())
    reads = sum(stats["by_endpoint"].get("POST /v1/person/get-by-ids", {}).values())
    seconds = total / (DEFAULT_RATE[api] / MARGIN)
    at_rate = f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"
    extra = f", {reads:,} reads by id" if api == "ortto" else ""
    return (
        f"{total:,} requests ({sent:,} {'merges' if api == 'ortto' else 'bulk upserts'}{extra}), "
        f"{bad:,} answered 4xx; {at_rate} at {DEFAULT_RATE[api]} r/s "
        f"(measured {wall:.1f} s unthrottled)"
    )


def scenario(n: int, api: str, mode: str) -> list[str]:
    options = ["--ortto-rate-limit", "0", "--rate-limit", "0", "--seed", "1"]
    if api == "ortto":
        options += ["--ortto-mixed-batch", mode]
    else:
        options += ["--custom-fields", "must-exist", "--bulk-partial-failure", mode]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sandbox_process(*options) as (sandbox, _process):
        work = Path(tmp)
        refused = write_input(work / "input.jsonl", n, api)
        if api == "ortto":
            for email in refused:
                sandbox.suppress(email)
        for run in ("first run", "identical second run"):
            sandbox.reset_stats()
            wall, report = run_target(sandbox, work / "input.jsonl", work, api)
            rejected = sum(report["rejected"].values())
            result = figures(sandbox.stats(), api, wall) + f"; {rejected:,} rejected"
            rows.append(f"| 9 {n:,} people, 2% refused, 1% over-long, {api} ({mode}) | {run} | {result} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:] if arg.isdigit()] or [10_000]
    apis = [arg for arg in sys.argv[1:] if not arg.isdigit()] or ["ortto", "classic"]
    for n in sizes:
        if "ortto" in apis:
            scenario(n, "ortto", "per-person")
            if n <= 10_000:
                scenario(n, "ortto", "reject")
        if "classic" in apis:
            scenario(n, "classic", "reject-batch")


if __name__ == "__main__":
    main()
