"""Load: 100,000 profiles over five overlapping segments, exact member counts; memory that does not grow
with the number of profiles (200,000 stay under the bound 100,000 meet)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SandboxFactory
from tests.target.support import TARGET, by_hand, target_config

SEGMENTS = 5
PROFILES = 100_000
# Peak RSS in MiB that 100,000 profiles (the test below, 5 segments) and 200,000 (one segment) both
# stay under. Staging is on disk and the report counts (issue 20): nothing in memory grows with N.
MEMORY_LIMIT_MB = 80

# Runs the target under a parent that reports its peak memory: the test process's own
# RUSAGE_CHILDREN would mix in every other child it started.
MEASURE = """
import resource, subprocess, sys
with open(sys.argv[2]) as source:
    code = subprocess.run([sys.argv[1], "--config", sys.argv[3]], stdin=source, check=False).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.exit(code)
"""


def write_input(path: Path) -> dict[str, set[int]]:
    """Every profile in its own segment, every tenth also in the next one; returns the members."""
    members: dict[str, set[int]] = {f"segment_{s}": set() for s in range(SEGMENTS)}
    with path.open("w") as out:
        for name in members:
            out.write(
                json.dumps(
                    {
                        "type": "SCHEMA",
                        "stream": name,
                        "schema": {
                            "properties": {"email": {"type": "string"}, "first_name": {"type": "string"}}
                        },
                        "key_properties": ["email"],
                    }
                )
                + "\n"
            )
        for i in range(PROFILES):
            homes = [i % SEGMENTS] + ([(i + 1) % SEGMENTS] if i % 10 == 0 else [])
            for home in homes:
                members[f"segment_{home}"].add(i)
                out.write(
                    json.dumps(
                        {
                            "type": "RECORD",
                            "stream": f"segment_{home}",
                            "record": {"email": f"user{i}@example.com", "first_name": f"User {i}"},
                        }
                    )
                    + "\n"
                )
    return members


def test_100k_profiles_over_five_segments(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sandbox = sandbox_factory()
    members = write_input(tmp_path / "input.jsonl")
    config_path = tmp_path / "config.json"
    report_path = tmp_path / "report.json"
    config = target_config(
        sandbox,
        requests_per_second=10_000,
        report_path=str(report_path),
        rejected_records_path=str(tmp_path / "rejected.jsonl"),
    )
    config_path.write_text(json.dumps(config))

    peak_mb = peak_rss(tmp_path / "input.jsonl", config_path)

    assert peak_mb < MEMORY_LIMIT_MB
    counts = {title: len(emails) for title, emails in sandbox.lists().items()}
    assert counts == {title: len(ids) for title, ids in members.items()}
    report = json.loads(report_path.read_text())
    assert report["profiles"] == PROFILES
    assert report["rejected"] == {}


def test_200k_profiles_stay_under_the_bound_100k_meet(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Twice the profiles of the test above, in one segment, under the same memory bound."""
    sandbox = sandbox_factory()
    profiles = 2 * PROFILES
    source = tmp_path / "input.jsonl"
    with source.open("w") as out:
        schema = {"properties": {"email": {"type": "string"}, "first_name": {"type": "string"}}}
        out.write(
            json.dumps({"type": "SCHEMA", "stream": "everyone", "schema": schema, "key_properties": []})
        )
        out.write("\n")
        for i in range(profiles):
            record = {"email": f"user{i}@example.com", "first_name": f"User {i}"}
            out.write(json.dumps({"type": "RECORD", "stream": "everyone", "record": record}) + "\n")
    config_path = tmp_path / "config.json"
    report_path = tmp_path / "report.json"
    config = target_config(
        sandbox,
        requests_per_second=10_000,
        max_profiles=profiles,
        report_path=str(report_path),
        rejected_records_path=str(tmp_path / "rejected.jsonl"),
    )
    config_path.write_text(json.dumps(config))

    peak_mb = peak_rss(source, config_path)

    assert peak_mb < MEMORY_LIMIT_MB
    # Asked through the API (a dump of 200,000 contacts is slow): the list holds every profile.
    lists = by_hand(sandbox, "GET", "lists")["lists"]
    assert [item["title"] for item in lists] == ["everyone"]
    page = by_hand(sandbox, "GET", "list", lists[0]["list_id"], "contacts")
    assert page["total_contacts"] == profiles
    last = by_hand(sandbox, "GET", "contact", f"user{profiles - 1}@example.com")
    assert last["FirstName"] == f"User {profiles - 1}"
    report = json.loads(report_path.read_text())
    assert (report["profiles"], report["upserted"], report["rejected"]) == (profiles, profiles, {})


def peak_rss(source: Path, config_path: Path) -> int:
    """Run the target on `source`; its peak RSS in MiB (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, TARGET, str(source), str(config_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    peak_mb = int(done.stdout.strip().splitlines()[-1])
    print(f"peak memory {peak_mb} MiB")
    return peak_mb
