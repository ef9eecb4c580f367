"""Ortto benchmarks (issue 12): request counts in 5 overlapping segments, and rate-limit use at 10 r/s;
(issue 16) an unchanged re-run over an account that also holds 3,000 people outside the segments.

`.venv/bin/python benchmarks/run.py --ortto` runs only these and writes them between the Ortto
markers of BENCHMARKS.md; `--ortto-bystanders` runs only the last.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from target_autopilot.sandbox import SandboxControl, sandbox_process

SEGMENTS = 5
MERGE = 100
PAGE = 500  # person/get page
CONSTANT = 8  # custom-field get/create/get, tags/get, a trial of the tag filter, ...
ORTTO_RATE = 10  # the smallest plan's requests/second, the target's default for Ortto
BYSTANDERS = 3_000
DOZEN = 12


def segments_of(i: int) -> list[str]:
    """Person i's segments: two or three of five, overlapping."""
    return [f"Segment {k + 1}" for k in range(SEGMENTS) if (i + k) % 5 in (0, 1) or (i * 7 + k) % 11 == 0]


def write_ortto_input(
    path: Path, n: int, base: dict[str, Any], profile: Any, *, changed: int = 0, new: int = 0
) -> Path:
    """Profiles 0..n-1 (every (n/changed)-th one changed), then `new` more, each with its segments."""
    every = n // changed if changed else 0
    schema = {
        **base,
        "properties": {**base["properties"], "segments": {"type": "array", "items": {"type": "string"}}},
    }
    with path.open("w", encoding="utf-8") as out:
        out.write(
            json.dumps({"type": "SCHEMA", "stream": "people", "schema": schema, "key_properties": []}) + "\n"
        )
        for i in range(n + new):
            record = {
                **profile(i, changed=1 if every and i < n and i % every == 0 else 0),
                "segments": segments_of(i),
            }
            out.write(json.dumps({"type": "RECORD", "stream": "people", "record": record}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"rows": n + new}}) + "\n")
    return path


@contextmanager
def ortto_sandbox(rate: int = 0, latency_ms: float = 0, jitter_ms: float = 0) -> Iterator[SandboxControl]:
    options = [
        "--ortto-rate-limit", str(rate), "--latency-ms", str(latency_ms),
        "--latency-jitter-ms", str(jitter_ms), "--seed", "1",
    ]  # fmt: skip
    with sandbox_process(*options) as (control, _process):
        yield control


def holders_pages(sandbox: SandboxControl) -> int:
    """person/get pages needed to read every tag's holders."""
    return sum(math.ceil(len(holders) / PAGE) for holders in sandbox.tags().values())


def count_goal(run: str, n: int, pages: int, stats: dict[str, Any]) -> tuple[str, str, bool]:
    """The result text, goal and whether it is met, for one run of the Ortto count scenario."""
    by = {endpoint: sum(statuses.values()) for endpoint, statuses in stats["by_endpoint"].items()}
    total = sum(by.values())
    merges = by.get("POST /v1/person/merge", 0)
    reads = by.get("POST /v1/person/get", 0)
    result = f"{total:,} requests: {merges:,} merges, {reads:,} holder pages, {total - merges - reads} other"
    one = n // 100
    if run == "first export":
        bound = math.ceil(n / MERGE) + CONSTANT
        return result, f"≤ ⌈N/100⌉ + {CONSTANT} = {bound:,}", total <= bound
    if run == "unchanged re-export":
        bound = pages + CONSTANT
        return result, f"0 merges, ≤ Σ⌈holders/500⌉ + {CONSTANT} = {bound:,}", merges == 0 and total <= bound
    bound = pages + math.ceil(2 * one / MERGE) + CONSTANT
    return result, f"≤ Σ⌈holders/500⌉ + ⌈2%·N/100⌉ + {CONSTANT} = {bound:,}", total <= bound


def counts(bench: Any, run_target: Any, profile: Any, schema: dict[str, Any], n: int) -> None:
    """First export, unchanged re-export, 1% changed + 1% new: requests counted by the sandbox."""
    work = bench.workdir(f"ortto-counts-{n}")
    first = write_ortto_input(work / "first.jsonl", n, schema, profile)
    changed = write_ortto_input(work / "changed.jsonl", n, schema, profile, changed=n // 100, new=n // 100)
    with ortto_sandbox() as sandbox:
        for run, source in (
            ("first export", first),
            ("unchanged re-export", first),
            ("1% changed + 1% new", changed),
        ):
            pages = holders_pages(sandbox)
            sandbox.reset_stats()
            ours = run_target(
                sandbox, source, bench.workdir(f"ortto-counts-{n}/{run[:5]}"),
                api="ortto", requests_per_second=100_000, segment_property="segments", segments={},
            )  # fmt: skip
            result, goal, met = count_goal(run, n, pages, sandbox.stats())
            result += f"; {ours.report['unchanged']:,} unchanged, {ours.wall:.1f} s"
            bench.add(f"6 Ortto requests, N = {n:,}, 5 overlapping segments", run, result, goal, met)


def utilisation(bench: Any, run_target: Any, profile: Any, schema: dict[str, Any], n: int) -> None:
    """An export of new people at the default 10 r/s against a sandbox enforcing 10 r/s, 150±50 ms
    latency, into an account that already has the custom fields (an earlier run created them)."""
    work = bench.workdir("ortto-utilisation")
    source = write_ortto_input(work / "input.jsonl", n, schema, profile)
    warm_up = work / "warm-up.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record["record"] = {**record["record"], "email": "warm-up@example.com", "segments": ["Warm-up"]}
    warm_up.write_text("\n".join([lines[0], json.dumps(record)]) + "\n", encoding="utf-8")
    with ortto_sandbox(ORTTO_RATE, 150, 50) as sandbox:
        settings = {"api": "ortto", "segment_property": "segments", "segments": {}}
        run_target(sandbox, warm_up, bench.workdir("ortto-utilisation/warm-up"), **settings)
        sandbox.reset_stats()
        ours = run_target(sandbox, source, work, **settings)
        stats = sandbox.stats()
    apply = float(ours.report["apply_seconds"])
    sent = ours.report["requests"]["sent"]
    refused = int(stats["rate_limited"])
    use = sent / (apply * ORTTO_RATE)
    name = f"7 Ortto rate use, {n:,} new profiles, R = {ORTTO_RATE} r/s (default), latency 150±50 ms"
    bench.add(
        name, "sent / (apply s x R)", f"{sent:,} / ({apply:.1f} x {ORTTO_RATE}) = {use:.3f}",
        "≥ 0.95, 0 x 429", use >= 0.95 and refused == 0,
    )  # fmt: skip
    peak = max(stats["max_requests_in_one_second"].values(), default=0)
    bench.add(name, "429 answered / most requests in one second", f"{refused} / {peak} (R = {ORTTO_RATE})")


def add_bystanders(sandbox: SandboxControl, count: int) -> None:
    """People in no segment and with no tag, merged straight through the sandbox's Ortto API."""
    with requests.Session() as session:
        for start in range(0, count, MERGE):
            people = [
                {"fields": {"str::email": f"bystander{i}@example.com"}} for i in range(start, start + MERGE)
            ]
            answer = session.post(
                f"{sandbox.base_url}/person/merge",
                json={"people": people, "merge_by": ["str::email"]},
                headers={"X-Api-Key": sandbox.api_key},
                timeout=60,
            )
            answer.raise_for_status()


def bystanders(bench: Any, run_target: Any, profile: Any, schema: dict[str, Any], n: int) -> None:
    """An unchanged re-run of N people in 5 segments over an account with 3,000 more people: holders
    read by the recorded tag filter, and (for contrast) by reading everyone when no filter works."""
    work = bench.workdir(f"ortto-bystanders-{n}")
    source = write_ortto_input(work / "input.jsonl", n, schema, profile)
    name = f"8 Ortto unchanged re-run, N = {n:,} in 5 overlapping segments, {BYSTANDERS:,} bystanders"
    for position, label in (
        ("u4s-is", "holders by the $u4s::is filter"),
        ("none", "no tag filter: read all"),
    ):
        with ortto_sandbox() as sandbox:
            sandbox.configure(ortto_tag_filter=position)
            add_bystanders(sandbox, BYSTANDERS)
            settings = {
                "api": "ortto",
                "requests_per_second": 100_000,
                "segment_property": "segments",
                "segments": {},
            }
            run_target(sandbox, source, bench.workdir(f"ortto-bystanders-{n}/{position}-first"), **settings)
            pages = holders_pages(sandbox)
            sandbox.reset_stats()
            ours = run_target(
                sandbox, source, bench.workdir(f"ortto-bystanders-{n}/{position}-again"), **settings
            )
            stats = sandbox.stats()
        by = {endpoint: sum(statuses.values()) for endpoint, statuses in stats["by_endpoint"].items()}
        total, merges = sum(by.values()), by.get("POST /v1/person/merge", 0)
        reads = by.get("POST /v1/person/get", 0)
        result = (
            f"{total} requests: {merges} merges, {reads} person/get ({pages} holder pages), "
            f"{total - merges - reads} other; {ours.report['unchanged']:,} unchanged"
        )
        if position == "u4s-is":
            bench.add(
                name, label, result, f"0 merges, ≤ about a dozen ({DOZEN})", merges == 0 and total <= DOZEN
            )
        else:
            everyone = math.ceil((n + BYSTANDERS) / PAGE)
            bench.add(
                name,
                label,
                result,
                f"for contrast: ⌈(N + {BYSTANDERS:,})/500⌉ = {everyone} pages of everyone",
            )
