"""`--about` documents every setting; the README's settings table is the same table."""

from __future__ import annotations

import subprocess

from target_autopilot.settings import SCHEMA
from tests.target.support import TARGET


def about_markdown() -> str:
    done = subprocess.run(
        [TARGET, "--about", "--format", "markdown"], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_about_lists_every_setting_with_a_description() -> None:
    rows = {
        line.split("|")[1].strip(): line.split("|")[4].strip()
        for line in about_markdown().splitlines()
        if line.startswith("| ") and not line.startswith("| Setting")
    }
    for name in SCHEMA["properties"]:
        assert rows.get(name), f"setting {name} has no description in --about"
