"""The real thing: `meltano install` and `meltano run tap-csv target-autopilot` against the server.

Meltano runs in a copy of this repository's project (meltano.yml and demo/) in a temporary directory:
its .meltano/ and output/ stay out of the checkout, which other tests build and read at the same time.

Expected results are computed here from the demo CSV files, independently of the target: a segment's
members are its rows' emails, trimmed and lower-cased, when they look like an address (one "@", no
spaces, a dot in the domain); the other rows must be in the rejected-records file.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from target_autopilot.sandbox import Sandbox, run_sandbox
from tests.target.support import custom_fields

pytestmark = pytest.mark.meltano

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).parent / "meltano")
# The demo's segments as meltano.yml declares them: CSV file (stream) -> Autopilot list title.
SEGMENTS = {
    "high_value_customers": "High value customers",
    "churn_risk": "Churn risk",
    "new_signups": "New sign-ups",
}
STATE_ID = "dev:tap-csv-to-target-autopilot"
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def read_segment(stream: str) -> list[dict[str, str]]:
    with (ROOT / "demo" / f"{stream}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def copy_project(parent: Path) -> Path:
    """meltano.yml and demo/ in `parent`, the target installed from this checkout (`-e <checkout>`)."""
    definition = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (loader,) = (p for p in definition["plugins"]["loaders"] if p["name"] == "target-autopilot")
    assert loader["pip_url"] == "-e ."
    loader["pip_url"] = f"-e {ROOT}"
    (parent / "meltano.yml").write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
    shutil.copytree(ROOT / "demo", parent / "demo", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return parent


def meltano(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [MELTANO, *args],
        cwd=env["MELTANO_PROJECT_ROOT"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"meltano {' '.join(args)} exited {result.returncode}:\n{result.stderr[-6000:]}"
    )
    return result


def stored_contact(server: Sandbox, email: str) -> dict[str, Any]:
    """The contact the sandbox holds, in the API's shape (read through its control API, which has no
    rate limit: the export already used the account's 5 requests a second)."""
    contact = server.contact(email.strip())
    assert contact is not None, f"no contact {email!r} in the sandbox"
    return contact


@pytest.fixture(scope="module")
def meltano_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`meltano`'s environment: no stray settings from the caller, state kept in a temp dir."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MELTANO_", "TARGET_AUTOPILOT_", "TAP_CSV_"))
    }
    env["MELTANO_ENVIRONMENT"] = "dev"
    env["MELTANO_STATE_BACKEND_URI"] = tmp_path_factory.mktemp("state").as_uri()
    env["MELTANO_PROJECT_ROOT"] = str(copy_project(tmp_path_factory.mktemp("project")))
    # meltano.yml logs the runs to output/ (for the demo): the tests' runs go to a temp dir instead.
    env["TARGET_AUTOPILOT_SYNC_LOG_PATH"] = str(tmp_path_factory.mktemp("synclog") / "sync-log.sqlite")
    meltano("install", env=env)
    return env


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    """One sandbox for the module (Autopilot's 5 requests/second, the sandbox's default): the export runs
    once, every test reads its outcome."""
    with Sandbox() as handle:
        yield handle


@pytest.fixture(scope="module")
def export(
    server: Sandbox, meltano_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Run the export into the fresh sandbox; return the paths of its output files."""
    out = tmp_path_factory.mktemp("output")
    outputs = {"rejected": out / "rejected.jsonl", "report": out / "report.json"}
    env = dict(
        meltano_env,
        TARGET_AUTOPILOT_API_URL=server.base_url,
        TARGET_AUTOPILOT_API_KEY=server.api_key,
        TARGET_AUTOPILOT_REJECTED_RECORDS_PATH=str(outputs["rejected"]),
        TARGET_AUTOPILOT_REPORT_PATH=str(outputs["report"]),
    )
    meltano("run", "--full-refresh", "tap-csv", "target-autopilot", env=env)
    return outputs


def test_segments_land_as_lists_with_their_members(server: Sandbox, export: dict[str, Path]) -> None:
    expected = {
        title: {
            row["Email"].strip().lower()
            for row in read_segment(stream)
            if ADDRESS.fullmatch(row["Email"].strip())
        }
        for stream, title in SEGMENTS.items()
    }
    assert {title: set(members) for title, members in server.lists().items()} == expected
    # Overlapping segments, written in other letter cases: one contact each in Autopilot.
    everyone = set().union(*expected.values())
    assert len(everyone) < sum(len(m) for m in expected.values())  # the demo does overlap
    stored = [contact["Email"] for contact in server.dump()["accounts"][0]["contacts"]]
    assert sorted(stored) == sorted(everyone)


def test_custom_fields_take_their_types_from_the_mapping_keys(
    server: Sandbox, export: dict[str, Path]
) -> None:
    fields = server.dump()["accounts"][0]["custom_fields"]
    assert {f["name"]: f["fieldType"] for f in fields} == {
        "Loyalty Tier": "string",
        "Orders": "integer",
        "Lifetime Value": "float",
    }


def test_contact_carries_the_mapped_fields(server: Sandbox, export: dict[str, Path]) -> None:
    row = next(r for r in read_segment("new_signups") if r["Email"] != r["Email"].lower() and all(r.values()))
    contact = stored_contact(server, row["Email"])
    assert contact["Email"] == row["Email"].strip().lower()
    assert (contact["FirstName"], contact["LastName"], contact["Company"]) == (
        row["First Name"],
        row["Last Name"],
        row["Company"],
    )
    assert {f["kind"]: f["value"] for f in contact["custom_fields"]} == {
        "Loyalty Tier": row["Loyalty Tier"],
        "Orders": int(row["Orders"]),
        "Lifetime Value": float(row["Lifetime Value"]),
    }


def test_empty_cells_are_not_sent(server: Sandbox, export: dict[str, Path]) -> None:
    row = next(r for r in read_segment("high_value_customers") if not r["Company"] and not r["Orders"])
    contact = stored_contact(server, row["Email"])
    assert "Company" not in contact
    assert {f["kind"] for f in contact["custom_fields"]} == {
        name for name in ("Loyalty Tier", "Lifetime Value") if row[name]
    }


def test_rejected_file_names_the_rows_without_a_valid_email(export: dict[str, Path]) -> None:
    expected = {
        (stream, row["Customer ID"]): "invalid_email" if row["Email"].strip() else "missing_email"
        for stream in SEGMENTS
        for row in read_segment(stream)
        if not ADDRESS.fullmatch(row["Email"].strip())
    }
    lines = [json.loads(line) for line in export["rejected"].read_text().splitlines()]
    assert {(r["stream"], r["record"]["customer_id"]): r["reason"] for r in lines} == expected
    assert len(lines) == len(expected)


def test_report_counts_every_record_of_each_segment(export: dict[str, Path]) -> None:
    report = json.loads(export["report"].read_text())
    assert report["status"] == "completed"
    for stream, title in SEGMENTS.items():
        assert report["segments"][title]["records"] == len(read_segment(stream))


def test_the_sync_log_says_why_a_person_of_the_demo_is_where_they_are(
    export: dict[str, Path], meltano_env: dict[str, str]
) -> None:
    """`make demo`'s question, after the demo's `meltano run`: the log path comes from the environment."""
    emails = [row["Email"].strip() for row in read_segment("churn_risk")]
    member = next(email for email in emails if ADDRESS.fullmatch(email))
    broken = next(email for email in emails if email and not ADDRESS.fullmatch(email))
    command = str(Path(sys.executable).parent / "autopilot-sync-log")
    answers = [
        subprocess.run([command, "why", email], env=meltano_env, capture_output=True, text=True, check=False)
        for email in (member, broken)
    ]
    assert [answer.returncode for answer in answers] == [0, 0], answers[1].stderr
    assert ": added to list Churn risk" in answers[0].stdout
    assert ": rejected from list Churn risk, invalid email" in answers[1].stdout


def test_meltano_stores_the_tap_state(export: dict[str, Path], meltano_env: dict[str, str]) -> None:
    state = json.loads(meltano("state", "get", STATE_ID, env=meltano_env).stdout)
    assert set(state["singer_state"]["bookmarks"]) == set(SEGMENTS)


def test_ctrl_c_under_meltano_stops_once_and_reports_what_autopilot_holds(
    meltano_env: dict[str, str], tmp_path: Path
) -> None:
    """Ctrl-C sends SIGINT to the whole foreground process group; Meltano then sends SIGTERM."""
    with run_sandbox(latency_ms=150) as slow:
        report_path = tmp_path / "report.json"
        env = dict(
            meltano_env,
            TARGET_AUTOPILOT_API_URL=slow.base_url,
            TARGET_AUTOPILOT_API_KEY=slow.api_key,
            TARGET_AUTOPILOT_LIST_ASSIGNMENT="per_contact",  # ~300 requests at 5/s: a minute to interrupt
            TARGET_AUTOPILOT_REJECTED_RECORDS_PATH=str(tmp_path / "rejected.jsonl"),
            TARGET_AUTOPILOT_REPORT_PATH=str(report_path),
        )
        process = subprocess.Popen(
            [MELTANO, "run", "--full-refresh", "tap-csv", "target-autopilot"],
            cwd=env["MELTANO_PROJECT_ROOT"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while sum(slow.stats()["by_endpoint"].get("POST /v1/contact", {}).values()) < 2:
            assert process.poll() is None, (
                f"ended before the interruption: {process.communicate()[1][-3000:]}"
            )
            assert time.monotonic() < deadline, "the export did not get going"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)

        assert process.returncode != 0
        assert stderr.count("Stopped by signal") == 1, stderr[-4000:]
        assert stderr.count("Export failed") == 1
        assert "Traceback" not in stderr.split("Stopped by signal", 1)[0]
        report = json.loads(report_path.read_text())
        assert report["status"] == "failed"
        assert 0 < report["upserted"] == len(slow.dump()["accounts"][0]["contacts"])
        held = slow.lists()
        assert {title: figures["memberships_added"] for title, figures in report["segments"].items()} == {
            title: len(held.get(title, [])) for title in report["segments"]
        }


def test_the_same_command_exports_segments_as_ortto_tags(meltano_env: dict[str, str], tmp_path: Path) -> None:
    """`api: ortto` (meltano.yml's dev-ortto environment): the same project, segments as tags."""
    with Sandbox() as server:
        ortto_export(server, meltano_env, tmp_path)


def ortto_export(server: Sandbox, meltano_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(
        meltano_env,
        MELTANO_ENVIRONMENT="dev-ortto",
        TARGET_AUTOPILOT_API_URL=server.base_url,
        TARGET_AUTOPILOT_API_KEY=server.api_key,
        TARGET_AUTOPILOT_REJECTED_RECORDS_PATH=str(tmp_path / "rejected.jsonl"),
        TARGET_AUTOPILOT_REPORT_PATH=str(tmp_path / "report.json"),
    )
    meltano("run", "--full-refresh", "tap-csv", "target-autopilot", env=env)

    expected = {
        title: sorted(
            {
                row["Email"].strip().lower()
                for row in read_segment(stream)
                if ADDRESS.fullmatch(row["Email"].strip())
            }
        )
        for stream, title in SEGMENTS.items()
    }
    assert server.tags() == expected
    assert server.lists() == {}  # nothing went to the Classic API
    row = next(r for r in read_segment("new_signups") if r["Email"] != r["Email"].lower() and all(r.values()))
    person = server.person(row["Email"].strip())
    assert person is not None
    fields = person["fields"]
    assert (fields["str::first"], fields["str::last"], fields["str:cm:company"]) == (
        row["First Name"],
        row["Last Name"],
        row["Company"],
    )
    assert fields["str:cm:loyalty-tier"] == row["Loyalty Tier"]
    assert fields["int:cm:orders"] == int(row["Orders"])
    assert fields["int:cm:lifetime-value"] == round(float(row["Lifetime Value"]) * 1000)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "completed"
    assert report["requests"]["by_endpoint"]["POST /person/merge"] == -(-len(server.people()) // 100)


def csv_typing_example() -> dict[str, Any]:
    """The example of docs/csv.md's "Typing columns" section, as a user would copy it."""
    section = (ROOT / "docs" / "csv.md").read_text(encoding="utf-8").split("## Typing columns", 1)[1]
    return dict(yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0]))


def test_the_csv_typing_instructions_keep_false_and_reject_a_bad_number(
    meltano_env: dict[str, str], tmp_path: Path
) -> None:
    """docs/csv.md's way of typing CSV columns, as written, over a file holding `false` and a number
    that is not one: `false` arrives false, the bad number reaches the rejected file, not a null."""
    example = csv_typing_example()
    [tap] = example["plugins"]["extractors"]
    [target] = example["plugins"]["loaders"]
    members = tmp_path / "members.csv"
    members.write_text(
        "Customer ID,Email,VIP,Orders\nM1,ann@example.com,false,12\nM2,bob@example.com,true,twelve\n",
        encoding="utf-8",
    )
    files = [{**entry, "path": str(members)} for entry in tap["config"]["files"]]
    with Sandbox() as server:
        env = dict(
            meltano_env,
            MELTANO_STATE_BACKEND_URI=tmp_path.as_uri(),  # the demo's own state stays as it is
            TAP_CSV_FILES=json.dumps(files),
            TARGET_AUTOPILOT_FIELD_MAPPING=json.dumps(target["config"]["field_mapping"]),
            TARGET_AUTOPILOT_API_URL=server.base_url,
            TARGET_AUTOPILOT_API_KEY=server.api_key,
            TARGET_AUTOPILOT_REJECTED_RECORDS_PATH=str(tmp_path / "rejected.jsonl"),
            TARGET_AUTOPILOT_REPORT_PATH=str(tmp_path / "report.json"),
        )
        meltano("run", "tap-csv", "target-autopilot", env=env)

        assert custom_fields(server.contact("ann@example.com")) == {
            "VIP": (False, "boolean"),
            "Orders": (12, "integer"),
        }
        assert custom_fields(server.contact("bob@example.com")) == {"VIP": (True, "boolean")}
    [dropped] = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert (dropped["reason"], dropped["property"], dropped["value"]) == ("invalid_value", "orders", "twelve")
    assert dropped["record"]["email"] == "bob@example.com"
