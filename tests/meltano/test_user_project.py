"""A new user's Meltano project, set up as the README says: `meltano init`, the README's `meltano add` of
the loader (its `pip_url` pointing at this checkout), `meltano run tap-csv target-autopilot` against the
sandbox with settings given by environment variable, then the mirror guard lifted for one run by
environment variable, as the README says.

One project for the module (installing the target into Meltano's venv is what costs); each test reads the
runs the fixtures made. Expected members come from the CSV files, independently of the target.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from target_autopilot.sandbox import Sandbox, run_sandbox
from tests.target.support import TARGET
from tests.warehouse.project import HUB_FILE, ROOT, clean_environment, run_meltano

pytestmark = pytest.mark.meltano

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEMO = ROOT / "demo"
# Two of the demo's streams are named in `segments`; new_signups is not, so its list takes the stream's name.
SEGMENTS = {"high_value_customers": "High value customers", "churn_risk": "Churn risk"}
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Every number and yes/no setting of the Hub file, as a user would export it for one run, and how the
# target's "Settings in effect" line shows it.
OVERRIDES = {
    "max_profiles": ("5000", "5000"),
    "requests_per_second": ("250.5", "250.5"),
    "retry_seconds": ("30", "30"),
    "max_rejected_fraction": ("0.9", "0.9"),
    "max_removal_fraction": ("0.4", "0.4"),
    "max_dropped_fraction": ("0.8", "0.8"),
    "max_new_segments": ("40", "40"),
    "keep_run_files": ("7", "7"),
    "dry_run": ("false", "false"),
    "notify": ("true", "true"),
    "add_record_metadata": ("false", "false"),
    "validate_records": ("true", "true"),
    "batch_size_rows": ("500", "500"),
    "flattening_enabled": ("false", "false"),
    "flattening_max_depth": ("2", "2"),
    "flattening_max_key_length": ("200", "200"),
}


def readme_command(prefix: str, assigning: str = "") -> list[str]:
    """The documented command (a line of a code block, or `quoted` in the text) that starts with `prefix`
    once its `NAME=value` assignments are set aside, and that sets `assigning`; split into words."""
    for page in DOCS:
        text = page.read_text(encoding="utf-8")
        for command in [*code_lines(text), *re.findall(r"`([^`\n]+)`", text)]:
            if not command.lstrip().startswith(("meltano", "TARGET_AUTOPILOT_")):
                continue
            words = shlex.split(command, comments=True)
            start = next((i for i, word in enumerate(words) if "=" not in word), len(words))
            assigned = {word.split("=", 1)[0] for word in words[:start]}
            if " ".join(words[start:]).startswith(prefix) and (not assigning or assigning in assigned):
                return words
    raise AssertionError(f"no documented command starts with {prefix!r}")


def code_lines(text: str) -> list[str]:
    """The lines inside the ``` fences of a Markdown page."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line)
    return lines


def members(path: Path) -> set[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {row["Email"].strip().lower() for row in rows if ADDRESS.fullmatch(row["Email"].strip())}


class Project:
    """The user's project: its root, the environment `meltano` runs in, and the sandbox it exports to."""

    def __init__(self, root: Path, env: dict[str, str], sandbox: Sandbox, data: Path) -> None:
        self.root, self.env, self.sandbox, self.data = root, env, sandbox, data
        self.yml_after_add: dict[str, Any] = {}
        self.lists_after_first_run: dict[str, list[str]] = {}

    def meltano(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_meltano(list(args), cwd=self.root, env={**self.env, **(env or {})}, check=check)

    def run_words(self, words: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command line as a user types it: `NAME=value ... meltano ...`."""
        start = next(i for i, word in enumerate(words) if "=" not in word)
        assert words[start] == "meltano", words
        env = dict(word.split("=", 1) for word in words[:start])
        return self.meltano(*words[start + 1 :], env=env, check=check)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    parent = tmp_path_factory.mktemp("user")
    data = parent / "data"
    data.mkdir()
    for name in ("high_value_customers", "churn_risk", "new_signups"):
        shutil.copy(DEMO / f"{name}.csv", data / f"{name}.csv")
    env = clean_environment()
    env["MELTANO_STATE_BACKEND_URI"] = (parent / "state").as_uri()
    run_meltano(["init", "--no_usage_stats", "project"], cwd=parent, env=env)
    root = parent / "project"
    # The Hub file with `pip_url` pointing at this checkout, as the README says to before the release.
    hub = HUB_FILE.read_text(encoding="utf-8")
    assert "\npip_url: target-autopilot\n" in hub
    (root / "target-autopilot.yml").write_text(
        hub.replace("\npip_url: target-autopilot\n", f"\npip_url: -e {ROOT}\n")
    )
    with run_sandbox(rate_limit=0) as sandbox:
        user = Project(root, env, sandbox, data)
        add = readme_command("meltano add --plugin-type loader target-autopilot")
        user.run_words(add)
        user.yml_after_add = yaml.safe_load((root / "meltano.yml").read_text())
        add_tap_csv(root / "meltano.yml", data)
        user.meltano("install")
        yield user


def add_tap_csv(meltano_yml: Path, data: Path) -> None:
    """The repository's tap-csv, reading the copies in `data`; the target's config as a user writes it."""
    definition = yaml.safe_load(meltano_yml.read_text())
    repo = yaml.safe_load((ROOT / "meltano.yml").read_text())
    tap = next(e for e in repo["plugins"]["extractors"] if e["name"] == "tap-csv")
    for entry in tap["config"]["files"]:
        entry["path"] = entry["path"].replace("${MELTANO_PROJECT_ROOT}/demo", str(data))
    definition["plugins"]["extractors"] = [tap]
    loader = definition["plugins"]["loaders"][0]
    loader["config"] = {
        "segments": SEGMENTS,
        "sync_mode": "mirror",
        "complete_streams": "sent",
        "report_path": "output/autopilot-report.json",
    }
    meltano_yml.write_text(yaml.safe_dump(definition, sort_keys=False))


@pytest.fixture(scope="module")
def first_run(project: Project) -> subprocess.CompletedProcess[str]:
    """The first export, every number and yes/no setting given by environment variable, one misspelt."""
    env = {f"TARGET_AUTOPILOT_{name.upper()}": value for name, (value, _) in OVERRIDES.items()}
    env.update(
        TARGET_AUTOPILOT_API_URL=project.sandbox.base_url,
        TARGET_AUTOPILOT_API_KEY=project.sandbox.api_key,
        TARGET_AUTOPILOT_DRYRUN="true",
    )
    run = project.meltano("run", "tap-csv", "target-autopilot", env=env)
    project.lists_after_first_run = project.sandbox.lists()  # later runs change them
    return run


@pytest.fixture(scope="module")
def guard_runs(project: Project, first_run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The churn-risk file cut to two rows: the guard stops the run; the documented command lifts it."""
    path = project.data / "churn_risk.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:3]), encoding="utf-8")
    sandbox = {
        "TARGET_AUTOPILOT_API_URL": project.sandbox.base_url,
        "TARGET_AUTOPILOT_API_KEY": project.sandbox.api_key,
    }
    guarded = project.meltano("run", "tap-csv", "target-autopilot", env=sandbox, check=False)
    held = project.sandbox.lists()
    words = readme_command("meltano run tap-csv target-autopilot", "TARGET_AUTOPILOT_MAX_REMOVAL_FRACTION")
    lifted = project.run_words([*(f"{k}={v}" for k, v in sandbox.items()), *words])
    return {"guarded": guarded, "held_after_guard": held, "lifted": lifted, "churn": members(path)}


def test_the_readme_command_adds_one_loader_and_nothing_else(project: Project) -> None:
    plugins = project.yml_after_add["plugins"]
    assert list(plugins) == ["loaders"]
    [loader] = plugins["loaders"]
    assert (loader["name"], loader["pip_url"]) == ("target-autopilot", f"-e {ROOT}")


def test_every_number_and_boolean_setting_can_be_given_by_environment_variable(
    first_run: subprocess.CompletedProcess[str],
) -> None:
    [line] = [line for line in first_run.stderr.splitlines() if "Settings in effect:" in line]
    shown = dict(item.split("=", 1) for item in line.split("Settings in effect: ", 1)[1].split(", "))
    assert {name: shown.get(name) for name in OVERRIDES} == {
        name: text for name, (_, text) in OVERRIDES.items()
    }


def test_the_overrides_cover_every_number_and_boolean_setting_of_about() -> None:
    about = json.loads(
        subprocess.run(
            [TARGET, "--about", "--format", "json"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    scalar = {"number", "integer", "boolean"}
    typed = {
        name
        for name, prop in about["settings"]["properties"].items()
        if scalar & set(prop.get("type", []) if isinstance(prop.get("type"), list) else [prop.get("type")])
    }
    assert typed - set(OVERRIDES) == set()


def test_the_run_names_the_host_it_talks_to_and_never_the_key(
    project: Project, first_run: subprocess.CompletedProcess[str]
) -> None:
    port = project.sandbox.base_url.split(":")[2].split("/")[0]
    assert f"Sending to 127.0.0.1:{port} (api: classic" in first_run.stderr
    assert project.sandbox.api_key not in first_run.stderr + first_run.stdout


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles(
    first_run: subprocess.CompletedProcess[str],
) -> None:
    assert "TARGET_AUTOPILOT_DRYRUN is not a setting" in first_run.stderr
    assert "did you mean `dry_run` (TARGET_AUTOPILOT_DRY_RUN)" in first_run.stderr
    # The variables Meltano itself sets for the loader are all settings: no other warning.
    assert first_run.stderr.count("is not a setting of target-autopilot") == 1


def test_segments_land_and_an_unnamed_stream_takes_its_own_name_with_a_warning(
    project: Project, first_run: subprocess.CompletedProcess[str]
) -> None:
    expected = {title: members(DEMO / f"{stream}.csv") for stream, title in SEGMENTS.items()}
    expected["new_signups"] = members(DEMO / "new_signups.csv")
    assert {title: set(held) for title, held in project.lists_after_first_run.items()} == expected
    assert (
        "The stream 'new_signups' is not named in `segments`: its records go to a list named 'new_signups'"
        in (first_run.stderr)
    )


def test_run_files_land_under_output_readable_by_their_owner_only(
    project: Project, first_run: subprocess.CompletedProcess[str]
) -> None:
    output = project.root / "output"
    written = [
        path for path in output.iterdir() if path.name.startswith("autopilot-") and not path.is_symlink()
    ]
    assert {path.suffix for path in written} == {".json", ".jsonl"}
    assert {oct(path.stat().st_mode & 0o777) for path in written} == {"0o600"}
    assert (output / ".gitignore").read_text().split()[
        0
    ] == "*"  # Meltano's own: nothing in output/ is committed


def test_the_guard_stops_a_shrunken_segment_and_the_readme_command_lifts_it(
    project: Project, guard_runs: dict[str, Any]
) -> None:
    guarded = guard_runs["guarded"]
    assert guarded.returncode != 0
    assert "Mirror guard" in guarded.stderr
    assert len(guard_runs["held_after_guard"]["Churn risk"]) > len(guard_runs["churn"])
    assert set(project.sandbox.lists()["Churn risk"]) == guard_runs["churn"]
    # tap-spreadsheets sends nothing for a file unchanged since its state: those lists are not mirrored
    held = {title: set(members) for title, members in project.sandbox.lists().items()}
    assert held["High value customers"] == members(DEMO / "high_value_customers.csv")
    assert held["new_signups"] == members(DEMO / "new_signups.csv")
    assert "Not mirroring the lists of 'high_value_customers', 'new_signups'" in guard_runs["lifted"].stderr
    assert (
        json.loads((project.root / "output" / "autopilot-report.json").read_text())["status"] == "completed"
    )
    assert os.path.islink(project.root / "output" / "autopilot-report.json")
