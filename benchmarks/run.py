"""Benchmarks of target-autopilot (issue 5): overhead, rate-limit use, request counts, cost at 5 r/s.

Run `make bench` (or `.venv/bin/python benchmarks/run.py [--quick]`). Every scenario starts its own
Autopilot sandbox on loopback (`python -m target_autopilot.sandbox`, a child process), generates
fake profiles (deterministic, @example.com/.org/.net), and runs the real `target-autopilot` CLI as
a subprocess on them. Wall time, CPU time and peak RSS of each run come from a small wrapper
process (`resource.getrusage(RUSAGE_CHILDREN)` of that one child). The baseline for the overhead
scenario is MeltanoLabs' `target-csv` fed the same file, installed in `.bench/venv-target-csv`.

It prints one table and writes it, with the machine and the command, between the markers in
BENCHMARKS.md; the rest of that file (the analysis) is kept.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from target_autopilot.ratelimit import DEFAULT_MARGIN
from target_autopilot.sandbox import SandboxControl, sandbox_process

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET = BIN / "target-autopilot"
WORK = ROOT / ".bench"
CSV_VENV = WORK / "venv-target-csv"
CSV_PACKAGE = "meltanolabs-target-csv==0.5.0"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
ORTTO_MARKERS = ("<!-- bench-ortto:start -->", "<!-- bench-ortto:end -->")
BYSTANDER_MARKERS = ("<!-- bench-ortto-bystanders:start -->", "<!-- bench-ortto-bystanders:end -->")
STREAM, LIST_TITLE = "customers", "Bench customers"
AUTOPILOT_RATE = 5  # Autopilot's documented limit, requests/second
CONSTANT = 5  # requests a run may add to issue 10's formulas (account, lists, custom fields, probe, ...)
FIRST_CONSTANT = 10  # the same for a first export (issue 5's goal; it also creates the list)
BULK = 100
FIRST_EXPORT, UNCHANGED, CHANGED = "first export", "unchanged re-export", "1% changed + 1% new"
DRY_RUN, MIRROR = "dry run of the mirror run", "mirror: 1% changed + 1% new + 1% leavers"
RUNS = (FIRST_EXPORT, UNCHANGED, CHANGED, DRY_RUN, MIRROR)
# Requests at N = 100,000 with bulk assignment before issue 10 (BENCHMARKS.md at commit c64a382).
BEFORE_ISSUE_10 = {FIRST_EXPORT: 1_005, UNCHANGED: 2_002, CHANGED: 2_014}

# Runs one command with stdin/stdout/stderr files and prints its wall time, CPU time and peak RSS.
_WRAPPER = """
import json, resource, subprocess, sys, time
command = json.loads(sys.argv[1])
with open(sys.argv[2], "rb") as i, open(sys.argv[3], "wb") as o, open(sys.argv[4], "wb") as e:
    started = time.perf_counter()
    code = subprocess.run(command, stdin=i, stdout=o, stderr=e, check=False).returncode
    wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss_mb": usage.ru_maxrss / 1024}))
"""
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \|")


# Input data


FIRST = ("Ada", "Liam", "Yuki", "Olivia", "Leo", "Mia", "Noah", "Emma", "Lucas", "Zoe", "Amir", "Ines")
LAST = ("Martin", "Lewis", "Dubois", "Okafor", "Lopez", "Jackson", "Smith", "Khan", "Rossi", "Berg")
COMPANIES = ("Acme Widgets", "Initech", "Wayne Foods", "Soylent Kitchens", "Vandelay Imports", "Globex")
TIERS = ("bronze", "silver", "gold", "platinum")
DOMAINS = ("example.com", "example.org", "example.net")
SCHEMA = {
    "type": "object",
    "properties": {
        "customer_id": {"type": ["string"]},
        "email": {"type": ["string", "null"]},
        "first_name": {"type": ["string", "null"]},
        "last_name": {"type": ["string", "null"]},
        "company": {"type": ["string", "null"]},
        "loyalty_tier": {"type": ["string", "null"]},
        "orders": {"type": ["integer", "null"]},
        "lifetime_value": {"type": ["number", "null"]},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
FIELD_MAPPING = {
    "Email": "email",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Company": "company",
    "Loyalty Tier": "loyalty_tier",
    "integer--Orders": "orders",
    "Lifetime Value": "lifetime_value",
    "Updated At": "updated_at",
}


def profile(i: int, changed: int = 0) -> dict[str, Any]:
    """Fake profile number `i`, the same every run; change 1 or 2 alters two of its fields."""
    tier = ("", "diamond", "emerald")[changed] or TIERS[i * 7 % len(TIERS)]
    return {
        "customer_id": f"C{i:07d}",
        "email": f"{FIRST[i % len(FIRST)].lower()}.{LAST[i * 3 % len(LAST)].lower()}{i}@{DOMAINS[i % 3]}",
        "first_name": FIRST[i % len(FIRST)],
        "last_name": LAST[i * 3 % len(LAST)],
        "company": COMPANIES[i * 5 % len(COMPANIES)],
        "loyalty_tier": tier,
        "orders": i * 13 % 200 + changed,
        "lifetime_value": round((i * 7919 % 900_000) / 100, 2),
        "updated_at": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T12:00:00Z",
    }


def write_input(
    path: Path, n: int, *, changed: int = 0, new: int = 0, leavers: int = 0, change: int = 1
) -> Path:
    """A Singer file of profiles `leavers`..n-1 (every (n/changed)-th one with `change`), then `new` more.

    With `leavers`, the stream is sent whole (ACTIVATE_VERSION), as a full-table read does.
    """
    every = n // changed if changed else 0
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": []}))
        out.write("\n")
        if leavers:
            out.write(json.dumps({"type": "ACTIVATE_VERSION", "stream": STREAM, "version": 1}) + "\n")
        for i in range(leavers, n + new):
            record = profile(i, changed=change if every and i < n and i % every == 0 else 0)
            out.write(json.dumps({"type": "RECORD", "stream": STREAM, "record": record}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {STREAM: {"rows": n + new}}}}) + "\n")
    return path


# Running things


@dataclass
class Measured:
    """One measured run of a CLI."""

    code: int
    wall: float
    cpu: float
    rss_mb: float
    stderr: str
    report: dict[str, Any] = field(default_factory=dict)

    def phases(self) -> tuple[float | None, float | None]:
        """(read and stage, apply) seconds: from the report if it has them, else from the log."""
        if isinstance(self.report.get("apply_seconds"), (int, float)):
            apply = float(self.report["apply_seconds"])
            return max(self.wall - apply, 0.0), apply
        stamps = []
        for line in self.stderr.splitlines():
            found = _LOG_TIME.match(line)
            if found:
                stamps.append((datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f"), line))
        read_end = next((at for at, line in stamps if "completed processing" in line), None)
        if not stamps or read_end is None:
            return None, None
        return (read_end - stamps[0][0]).total_seconds(), (stamps[-1][0] - read_end).total_seconds()


def measure(command: list[str], stdin: Path, workdir: Path) -> Measured:
    """Run `command` once, reading `stdin`; its wall time, CPU time and peak RSS."""
    out, err = workdir / "stdout.txt", workdir / "stderr.txt"
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, json.dumps(command), str(stdin), str(out), str(err)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(done.stdout)
    stderr = err.read_text(encoding="utf-8", errors="replace")
    return Measured(figures["code"], figures["wall"], figures["cpu"], figures["rss_mb"], stderr)


def run_target(sandbox: SandboxControl, stdin: Path, workdir: Path, **settings: Any) -> Measured:
    """Run the real target-autopilot CLI against `sandbox`; fail loudly when it fails."""
    report = workdir / "report.json"
    config = {
        "api_key": sandbox.api_key,
        "api_url": sandbox.base_url,
        "segments": {STREAM: LIST_TITLE},
        "field_mapping": FIELD_MAPPING,
        "max_profiles": 1_000_000,
        "rejected_records_path": str(workdir / "rejected.jsonl"),
        "report_path": str(report),
        **settings,
    }
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    result = measure([str(TARGET), "--config", str(config_path)], stdin, workdir)
    if result.code != 0:
        raise RuntimeError(f"target-autopilot exited {result.code}:\n{result.stderr[-3000:]}")
    result.report = json.loads(report.read_text())
    return result


@contextmanager
def sandbox_child(
    rate_limit: int = 0, latency_ms: float = 0, jitter_ms: float = 0, bulk_list_assignment: str = "on"
) -> Iterator[tuple[SandboxControl, int]]:
    """A sandbox in a child process on a free loopback port; yields its control client and pid."""
    options = [
        "--rate-limit", str(rate_limit), "--latency-ms", str(latency_ms),
        "--latency-jitter-ms", str(jitter_ms), "--bulk-list-assignment", bulk_list_assignment, "--seed", "1",
    ]  # fmt: skip
    with sandbox_process(*options) as (control, process):
        yield control, process.pid


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_target_csv() -> Path:
    """MeltanoLabs' target-csv in its own venv (created once)."""
    executable = CSV_VENV / "bin" / "target-csv"
    if executable.exists():
        return executable
    WORK.mkdir(exist_ok=True)
    (WORK / ".gitignore").write_text("*\n")
    print(f"Installing {CSV_PACKAGE} into {CSV_VENV} (once) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(CSV_VENV)], check=True)
    pip = [str(CSV_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, CSV_PACKAGE], check=True)
    return executable


def endpoint_counts(stats: dict[str, Any]) -> dict[str, int]:
    """Requests the sandbox answered, by "METHOD /v1/template"."""
    return {endpoint: sum(statuses.values()) for endpoint, statuses in stats["by_endpoint"].items()}


# The table


@dataclass
class Row:
    scenario: str
    measure: str
    result: str
    goal: str = ""
    met: bool | None = None


@dataclass
class Bench:
    quick: bool
    tmp: Path
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measured: dict[tuple[str, int, str], int] = field(default_factory=dict)  # (switch, N, run) → requests

    def add(self, *row: Any) -> None:
        self.rows.append(Row(*row))
        print(f"  {row[0]} | {row[1]} | {row[2]}", file=sys.stderr, flush=True)

    def workdir(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # 1. Overhead against target-csv

    def overhead(self) -> None:
        n = 10_000 if self.quick else 100_000
        work = self.workdir("overhead")
        source = write_input(work / "input.jsonl", n)
        csv_dir = self.workdir("overhead/csv")
        (csv_dir / "config.json").write_text(json.dumps({"output_path": str(csv_dir / "out")}))
        csv_command = [str(ensure_target_csv()), "--config", str(csv_dir / "config.json")]
        # Best of `tries` (lowest wall time) for each, alternating: this machine's load varies.
        tries = 1 if self.quick else 3
        baselines: list[Measured] = []
        runs: list[tuple[Measured, float]] = []
        for _ in range(tries):
            baselines.append(measure(csv_command, source, csv_dir))
            if baselines[-1].code != 0:
                raise RuntimeError(f"target-csv exited {baselines[-1].code}:\n{baselines[-1].stderr[-3000:]}")
            with sandbox_child() as (sandbox, pid):
                before = cpu_seconds(pid)
                ours = run_target(
                    sandbox, source, self.workdir("overhead/target"), requests_per_second=100_000
                )
                runs.append((ours, cpu_seconds(pid) - before))
        baseline = min(baselines, key=lambda run: run.wall)
        ours, sandbox_cpu = min(runs, key=lambda run: run[0].wall)
        read, apply = ours.phases()
        name = f"1 overhead, {n:,} profiles, best of {tries}"
        self.add(
            name,
            "target-csv 0.5.0: wall / CPU / peak RSS",
            f"{baseline.wall:.1f} s / {baseline.cpu:.1f} s / {baseline.rss_mb:.0f} MB",
        )
        self.add(
            name,
            "target-autopilot: wall / CPU / peak RSS",
            f"{ours.wall:.1f} s / {ours.cpu:.1f} s / {ours.rss_mb:.0f} MB "
            f"({ours.report['requests']['sent']:,} requests)",
        )
        if read is not None and apply is not None:
            self.add(
                name,
                "target-autopilot: read+stage / apply (wall)",
                f"{read:.1f} s / {apply:.1f} s (sandbox CPU during the run: {sandbox_cpu:.1f} s)",
            )
        self.add(
            name,
            "wall-time ratio (target-autopilot / target-csv)",
            f"{ours.wall / baseline.wall:.2f}x",
            "≤ 1.0x",
            ours.wall <= baseline.wall,
        )
        self.add(name, "CPU-time ratio", f"{ours.cpu / baseline.cpu:.2f}x", "", None)
        self.add(
            name,
            "peak-memory ratio",
            f"{ours.rss_mb / baseline.rss_mb:.2f}x",
            "≤ 1.0x",
            ours.rss_mb <= baseline.rss_mb,
        )
        if read is not None:
            self.add(name, "read+stage wall / target-csv wall", f"{read / baseline.wall:.2f}x", "", None)

    # 2. Rate-limit utilisation

    def utilisation(self, mode: str, n: int, rate: int) -> None:
        work = self.workdir(f"utilisation-{mode}")
        source = write_input(work / "input.jsonl", n)
        switch = "on" if mode == "bulk" else "off"
        with sandbox_child(rate, 150, 50, switch) as (sandbox, _pid):
            ours = run_target(sandbox, source, work, requests_per_second=rate, list_assignment=mode)
            stats = sandbox.stats()
        _read, apply = ours.phases()
        sent = ours.report["requests"]["sent"]
        refused = int(stats["rate_limited"])
        peak = max(stats["max_requests_in_one_second"].values(), default=0)
        name = f"2 rate use, {mode}, {n:,} profiles, R = {rate} r/s, latency 150±50 ms"
        if apply is None:
            self.add(name, "utilisation", "apply duration unknown (no log timestamps)")
            return
        use = sent / (apply * rate)
        self.add(
            name,
            "sent / (apply s x R)",
            f"{sent:,} / ({apply:.1f} x {rate}) = {use:.3f}",
            "≥ 0.95, 0 x 429",
            use >= 0.95 and refused == 0,
        )
        self.add(name, "429 answered / most requests in one second", f"{refused} / {peak} (R = {rate})")

    # 3. Request counts

    def counts(self, n: int, bulk_assignment: bool) -> None:
        """Five runs in a row on one sandbox, each counted from the sandbox's statistics."""
        switch = "on" if bulk_assignment else "off"
        work = self.workdir(f"counts-{n}-{switch}")
        one = n // 100
        first = write_input(work / "first.jsonl", n)
        changed = write_input(work / "changed.jsonl", n, changed=one, new=one)
        # After the run above the list holds n + 1%: the first 1% leave, 1% join, and 1% change again
        # (every 100th, as above: the others keep the values the list holds).
        mirror = write_input(
            work / "mirror.jsonl", n + one, changed=(n + one) // 100, new=one, leavers=one, change=2
        )
        with sandbox_child(0, 0, 0, switch) as (sandbox, _pid):
            for run, source, settings in (
                (FIRST_EXPORT, first, {}),
                (UNCHANGED, first, {}),
                (CHANGED, changed, {}),
                (DRY_RUN, mirror, {"sync_mode": "mirror", "dry_run": True}),
                (MIRROR, mirror, {"sync_mode": "mirror"}),
            ):
                sandbox.reset_stats()
                ours = run_target(
                    sandbox,
                    source,
                    self.workdir(f"counts-{n}-{switch}/{run[:5]}"),
                    requests_per_second=100_000,
                    **settings,
                )
                by = endpoint_counts(sandbox.stats())
                self.measured[(switch, n, run)] = sum(by.values())
                self._count_row(n, switch, run, ours, by)

    def _count_row(self, n: int, switch: str, run: str, ours: Measured, by: dict[str, int]) -> None:
        total = sum(by.values())
        reads = by.get("GET /v1/list/{list_id}/contacts", 0) + by.get(
            "GET /v1/list/{list_id}/contacts/{bookmark}", 0
        )
        bulk = by.get("POST /v1/contacts", 0)
        single = by.get("POST /v1/contact", 0)
        member_posts = by.get("POST /v1/list/{list_id}/contact/{contact}", 0)
        deletes = by.get("DELETE /v1/list/{list_id}/contact/{contact}", 0)
        writes = sum(count for endpoint, count in by.items() if not endpoint.startswith("GET "))
        segment = ours.report["segments"].get(LIST_TITLE, {})
        added = int(segment.get("memberships_added", 0))
        removed = int(segment.get("removed", 0))
        mode = ours.report.get("list_assignment") or "none"
        result = (
            f"{total:,} requests: {reads:,} member pages, {bulk:,} bulk, {single:,} single upserts, "
            f"{member_posts:,} membership POSTs, {deletes:,} DELETEs; {added:,} added, {removed:,} removed, "
            f"{segment.get('unchanged', 0):,} unchanged ({mode})"
        )
        one = n // 100
        pages, members_before = math.ceil(n / BULK), math.ceil((n + one) / BULK)
        # Changed profiles go in bulk; new ones too with bulk assignment, else one request each.
        new_cost = math.ceil(2 * one / BULK) if switch == "on" else math.ceil(one / BULK) + one
        new_formula = "⌈2%·N/100⌉" if switch == "on" else "⌈1%·N/100⌉ + 1%·N"
        if run == FIRST_EXPORT:
            bound = (pages if switch == "on" else n) + FIRST_CONSTANT
            goal = f"≤ {'⌈N/100⌉' if switch == 'on' else 'N'} + {FIRST_CONSTANT} = {bound:,}"
            met = total <= bound and added == n
        elif run == UNCHANGED:
            bound = pages + CONSTANT
            goal = f"≤ ⌈N/100⌉ + {CONSTANT} = {bound:,}, 0 writes"
            met = total <= bound and writes == 0
        elif run == CHANGED:
            bound = pages + new_cost + CONSTANT
            goal = f"≤ ⌈N/100⌉ + {new_formula} + {CONSTANT} = {bound:,}; adds {one:,}"
            met = total <= bound and added == one
        elif run == DRY_RUN:
            bound = members_before + 3
            goal = f"only GETs, ≤ ⌈M/100⌉ + 3 = {bound:,} (M = N + 1% members)"
            met = total <= bound and writes == 0
        else:
            bound = members_before + new_cost + CONSTANT + one
            goal = f"≤ ⌈M/100⌉ + {new_formula} + {CONSTANT} + {one:,} leavers = {bound:,}; removes {one:,}"
            met = total <= bound and deletes == one and removed == one and added == one
        self.add(f"3 requests, N = {n:,}, bulk assignment {switch}", run, result, goal, met)

    # 4. Extrapolation to Autopilot's 5 r/s

    def extrapolate(self, n: int) -> None:
        """Each run of scenario 3 for N profiles at 5 r/s, next to the figures before issue 10."""
        name = f"4 at {AUTOPILOT_RATE} r/s, N = {n:,}"
        for run in RUNS:
            if ("on", n, run) not in self.measured:
                continue
            count = self.measured[("on", n, run)]
            before = BEFORE_ISSUE_10.get(run) if n == 100_000 else None
            then = f"; before: {before:,} requests → {_duration(before / AUTOPILOT_RATE)}" if before else ""
            self.add(name, f"{run}, bulk list assignment", f"{self._at_five(count)}{then}")
        measured = sorted(size for mode, size, run in self.measured if mode == "off" and run == FIRST_EXPORT)
        if measured:
            size = measured[-1]
            at_size = self.measured[("off", size, FIRST_EXPORT)]
            self.add(
                name,
                f"{FIRST_EXPORT}, per-contact assignment ({at_size:,} measured at N = {size:,}, scaled)",
                self._at_five(at_size - size + n),  # N + the constant measured at `size`
            )
        self.add(
            name,
            "today's connector (one request per profile, 'can take several hours')",
            f"{n:,} requests → {_duration(n / AUTOPILOT_RATE)}",
        )

    @staticmethod
    def _at_five(count: int) -> str:
        seconds = count / AUTOPILOT_RATE
        return (
            f"{count:,} requests → {_duration(seconds)} at exactly {AUTOPILOT_RATE} r/s, "
            f"{_duration(seconds * (1 + DEFAULT_MARGIN))} at the target's pace"
        )

    # 5. Sandbox throughput

    def sandbox_throughput(self) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        throughput: Callable[[int, int, str], float] = importlib.import_module("sandbox_throughput").measure

        requests_total = 1000 if self.quick else 4000
        export = throughput(requests_total, 4, "export")
        bulk = throughput(requests_total // 10, 4, "bulk")
        self.add("5 sandbox throughput, limits off", "export mix (4 clients)", f"{export:,.0f} requests/s")
        self.add(
            "5 sandbox throughput, limits off",
            "bulk upserts of 100 (4 clients)",
            f"{bulk:,.0f} requests/s = {bulk * BULK:,.0f} contacts/s",
        )
        ortto = throughput(requests_total, 4, "ortto")
        merge = throughput(requests_total // 10, 4, "merge")
        self.add(
            "5 sandbox throughput, limits off", "Ortto mix (4 clients)", f"{ortto:,.0f} requests/s",
            "≥ 1,000 requests/s", ortto >= 1000,
        )  # fmt: skip
        self.add(
            "5 sandbox throughput, limits off",
            "Ortto merges of 100 people (4 clients)",
            f"{merge:,.0f} requests/s = {merge * BULK:,.0f} people/s",
            "≥ 200 requests/s",
            merge >= 200,
        )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    memory = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "CPU": f"{model}, {os.cpu_count()} cores",
        "RAM": memory,
        "Python": f"{platform.python_version()} ({platform.system()} {platform.release()})",
        "Commit": commit or "?",
        "Load average at start (1, 5, 15 min)": load,
    }


def render(bench: Bench, info: dict[str, str], command: str, took: float) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Run on {when} with `{command}` in {took / 60:.1f} min.",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
        "| Scenario | Measure | Result | Goal | Met |",
        "|---|---|---|---|---|",
    ]
    marks = {True: "yes", False: "**no**", None: ""}
    for row in bench.rows:
        cells = [row.scenario, row.measure, row.result, row.goal, marks[row.met]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", *bench.notes] if bench.notes else []
    return "\n".join(lines)


def write_markdown(body: str, start: str = START, end: str = END) -> None:
    """Replace what is between the markers in BENCHMARKS.md (the file is created when missing)."""
    block = f"{start}\n{body}\n{end}"
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else ""
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = f"# Benchmarks\n\n{block}\n{text}"
    BENCHMARKS_MD.write_text(text, encoding="utf-8")


def ortto_scenarios(bench: Bench, small: int, large: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    ortto = importlib.import_module("ortto")
    print("6. Ortto request counts", file=sys.stderr)
    for n in (small, large):
        ortto.counts(bench, run_target, profile, SCHEMA, n)
    print("7. Ortto rate-limit use", file=sys.stderr)
    ortto.utilisation(bench, run_target, profile, SCHEMA, 2 * small)  # ~20 s of applying, as scenario 2


def bystanders_scenario(bench: Bench) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    ortto = importlib.import_module("ortto")
    print("8. Ortto unchanged re-run among bystanders", file=sys.stderr)
    ortto.bystanders(bench, run_target, profile, SCHEMA, 200)


def ortto_only(
    bench: Bench, small: int, large: int, args: argparse.Namespace, info: dict[str, str], started: float
) -> None:
    ortto_scenarios(bench, small, large)
    command = ".venv/bin/python benchmarks/run.py --ortto" + (" --quick" if args.quick else "")
    body = render(bench, info, command, time.perf_counter() - started)
    print(body)
    if not args.no_write:
        write_markdown(body, *ORTTO_MARKERS)


def bystanders_only(bench: Bench, args: argparse.Namespace, info: dict[str, str], started: float) -> None:
    bystanders_scenario(bench)
    body = render(
        bench, info, ".venv/bin/python benchmarks/run.py --ortto-bystanders", time.perf_counter() - started
    )
    print(body)
    if not args.no_write:
        write_markdown(body, *BYSTANDER_MARKERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every scenario")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    parser.add_argument("--ortto", action="store_true", help="only the Ortto scenarios 6 and 7")
    parser.add_argument("--ortto-bystanders", action="store_true", help="only the Ortto scenario 8")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C does: the sandboxes and temporary files are cleaned up.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    info = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autopilot-bench-") as tmp:
        bench = Bench(args.quick, Path(tmp))
        small, large = (1_000, 5_000) if args.quick else (10_000, 100_000)
        if args.ortto:
            ortto_only(bench, small, large, args, info, started)
            return
        if args.ortto_bystanders:
            bystanders_only(bench, args, info, started)
            return
        print("1. overhead", file=sys.stderr)
        bench.overhead()
        print("2. rate-limit utilisation", file=sys.stderr)
        bench.utilisation("bulk", small, AUTOPILOT_RATE)
        bench.utilisation("per_contact", small // 2, 20 if args.quick else 50)
        print("3. request counts", file=sys.stderr)
        bench.counts(small, bulk_assignment=True)
        bench.counts(small, bulk_assignment=False)
        bench.counts(large, bulk_assignment=True)
        bench.notes.append(
            f"Per-contact assignment is counted at N = {small:,} only: at N = {large:,} it is {large:,} "
            "requests. Its count is N + a constant, so scenario 4 scales the constant measured there."
        )
        print("4. extrapolation", file=sys.stderr)
        bench.extrapolate(large)
        print("5. sandbox throughput", file=sys.stderr)
        bench.sandbox_throughput()
        ortto_scenarios(bench, small, large)
        bystanders_scenario(bench)
    command = "make bench" if not args.quick else ".venv/bin/python benchmarks/run.py --quick"
    body = render(bench, info, command, time.perf_counter() - started)
    print(body)
    if not args.no_write:
        write_markdown(body)


if __name__ == "__main__":
    main()
