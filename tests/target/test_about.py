"""`--about` documents every setting; the README's settings table is the same table.

`python -m tests.target.test_about` rewrites README's table from `--about`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from target_autopilot.schema import SCHEMA
from tests.target.support import TARGET

README = Path(__file__).parents[2] / "README.md"


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


def test_meltano_yml_declares_every_setting_with_a_description() -> None:
    meltano_yml = (README.parent / "meltano.yml").read_text()
    loader = meltano_yml.split("name: target-autopilot", 1)[1]
    for name in SCHEMA["properties"]:
        declared = loader.split(f"- name: {name}\n", 1)
        assert len(declared) == 2, f"meltano.yml does not declare the setting {name}"
        assert "description:" in declared[1].split("- name:", 1)[0], f"{name} has no description"


def settings_table(markdown: str) -> str:
    """The settings table of `--about --format markdown` (its rows, header included)."""
    section = markdown.split("## Settings", 1)[1]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_readme_settings_table_is_the_about_table() -> None:
    readme = README.read_text()
    block = readme.split("<!-- settings:start -->", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert settings_table(about_markdown()) == "\n".join(
        line for line in block.splitlines() if line.startswith("|")
    ), "README's settings table is stale: run `python -m tests.target.test_about` to rewrite it"


def rewrite_readme() -> None:
    """Put the current `--about` settings table between README's settings markers."""
    readme = README.read_text()
    head, rest = readme.split("<!-- settings:start -->\n", 1)
    _, tail = rest.split("<!-- settings:end -->", 1)
    table = settings_table(about_markdown())
    README.write_text(f"{head}<!-- settings:start -->\n{table}\n<!-- settings:end -->{tail}")


if __name__ == "__main__":
    rewrite_readme()
