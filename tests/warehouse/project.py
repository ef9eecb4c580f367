"""A fresh Meltano project, made the way a user would: `meltano init`, this repository's tap-postgres
extractor, and `meltano add --plugin-type loader target-autopilot --from-ref` the Hub definition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).parent / "meltano")
HUB_FILE = ROOT / "meltano-hub" / "target-autopilot.yml"
# The extractors a user of this warehouse would declare beside the repository's `tap-postgres` (views of
# schema `segments`, full table, ACTIVATE_VERSION): same package, so Meltano installs it once.
VARIANTS: list[dict[str, Any]] = [
    {
        # One table with a `segment` column (the target's `segment_property`).
        "name": "tap-postgres-table",
        "inherit_from": "tap-postgres",
        "config": {"filter_schemas": ["public"]},
        "select": ["public-customer_segments.*"],
    },
    {
        # The views again, read incrementally by `updated_at`.
        "name": "tap-postgres-incremental",
        "inherit_from": "tap-postgres",
        "config": {"default_replication_method": "INCREMENTAL"},
        "metadata": {"segments-*": {"replication-method": "INCREMENTAL", "replication-key": "updated_at"}},
    },
    {
        # Whatever tables a test puts in schema `bulk`: a tap that writes for a while.
        "name": "tap-postgres-bulk",
        "inherit_from": "tap-postgres",
        "config": {"filter_schemas": ["bulk"]},
        "select": ["bulk-*.*"],
    },
]


class MeltanoProject:
    """Runs `meltano` in `root` with `env` (plus per-call additions)."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    @classmethod
    def create(cls, parent: Path, env: dict[str, str]) -> MeltanoProject:
        """`meltano init`, the extractors, the Hub's loader (from this checkout), `meltano install`."""
        run_meltano(["init", "--no_usage_stats", "project"], cwd=parent, env=env)
        project = cls(parent / "project", env)
        meltano_yml = project.root / "meltano.yml"
        definition = yaml.safe_load(meltano_yml.read_text())
        repo_extractors = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
        tap_postgres = next(e for e in repo_extractors if e["name"] == "tap-postgres")
        definition.setdefault("plugins", {})["extractors"] = [tap_postgres, *VARIANTS]
        meltano_yml.write_text(yaml.safe_dump(definition, sort_keys=False))
        # The Hub file as published, except that it installs this checkout instead of the PyPI release.
        hub = yaml.safe_load(HUB_FILE.read_text())
        hub["pip_url"] = f"-e {ROOT}"
        local_ref = parent / "target-autopilot.yml"
        local_ref.write_text(yaml.safe_dump(hub, sort_keys=False))
        project.meltano(
            "add", "--no-install", "--plugin-type", "loader", "target-autopilot", "--from-ref", str(local_ref)
        )
        # The sandbox has no rate limit: as fast as it answers.
        definition = yaml.safe_load(meltano_yml.read_text())
        definition["plugins"]["loaders"][0]["config"] = {"requests_per_second": 500}
        meltano_yml.write_text(yaml.safe_dump(definition, sort_keys=False))
        project.meltano("install")
        return project

    def meltano(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_meltano(list(args), cwd=self.root, env={**self.env, **(env or {})}, check=check)

    def run(
        self, extractor: str, target_env: dict[str, Any], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`meltano run <extractor> target-autopilot`, the target's settings given as TARGET_AUTOPILOT_*
        variables (objects as JSON), as a user would in .env."""
        env = {
            f"TARGET_AUTOPILOT_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
            for name, value in target_env.items()
        }
        return self.meltano("run", extractor, "target-autopilot", env=env, check=check)

    def state(self, extractor: str) -> dict[str, Any]:
        """The state Meltano stored for `<extractor> target-autopilot` in the dev environment."""
        out = self.meltano("state", "get", f"dev:{extractor}-to-target-autopilot").stdout
        return dict(json.loads(out))

    def tap_messages(self, extractor: str) -> list[dict[str, Any]]:
        """The Singer messages the extractor writes on its own (`meltano invoke`)."""
        out = self.meltano("invoke", extractor).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def run_meltano(
    args: list[str], *, cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [MELTANO, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if check:
        assert result.returncode == 0, (
            f"meltano {' '.join(args)} exited {result.returncode}:\n{result.stderr[-6000:]}"
        )
    return result


def clean_environment() -> dict[str, str]:
    """The caller's environment without Meltano, target or tap settings."""
    prefixes = ("MELTANO_", "TARGET_AUTOPILOT_", "TAP_")
    return {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
