"""The mutation run's figures (`make mutants`): kill rate per module, and every survivor explained or not.

Reads what `mutmut run` left in mutants/ (through `mutmut results --all` and `mutmut show`) and
docs/mutants.md, whose tables name each survivor with its reason: judged equivalent (no behaviour
changes), or explained but not equivalent (a change only an answer no API position gives, or only timing,
would show). Prints the table that docs/mutants.md shows, then each survivor the page does not explain,
with its diff; exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = str(Path(sys.executable).with_name("mutmut"))
PAGE = ROOT / "docs" / "mutants.md"
KILLED = ("killed", "caught by type check", "timeout", "segfault")
_LINE = re.compile(r"^\s+(\S+): (.+)$")
_FIRST_CELL = re.compile(r"^\|([^|]*`[^|]*)\|")
_NAME = re.compile(r"`([^`]+)`")
_NUMBERS = re.compile(r"^(.*)\{([\d,]+)\}$")
EQUIVALENT = "## Survivors judged equivalent"
NOT_EQUIVALENT = "## Survivors explained, not equivalent"


def statuses() -> dict[str, str]:
    """Every mutant's status, by name."""
    done = subprocess.run(
        [MUTMUT, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {match[1]: match[2] for line in done.stdout.splitlines() if (match := _LINE.match(line))}


def module_of(name: str) -> str:
    """`target_autopilot.plan.x_diff__mutmut_3` → `target_autopilot/plan.py`."""
    parts = name.split(".")
    return "/".join(parts[:-1]) + ".py"


def explained() -> dict[str, set[str]]:
    """The survivors docs/mutants.md explains, by section heading: each backticked name in the first cell
    of a table row under `EQUIVALENT` or `NOT_EQUIVALENT`."""
    names: dict[str, set[str]] = {EQUIVALENT: set(), NOT_EQUIVALENT: set()}
    section = ""
    for line in PAGE.read_text().splitlines() if PAGE.exists() else []:
        if line.startswith("## "):
            section = line.strip()
        elif section in names and (cell := _FIRST_CELL.match(line)):
            names[section].update(name for written in _NAME.findall(cell[1]) for name in expand(written))
    return names


def expand(written: str) -> list[str]:
    """`…__mutmut_{7,8}` → `…__mutmut_7`, `…__mutmut_8`: one row for a function's mutants of one kind."""
    match = _NUMBERS.match(written)
    return [f"{match[1]}{number}" for number in match[2].split(",")] if match else [written]


def table(by_name: dict[str, str], reasons: dict[str, set[str]]) -> list[str]:
    """The kill rate per module: killed by a test or by mypy strict, survivors, of them explained."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in by_name.items():
        row = counts[module_of(name)]
        row["all"] += 1
        row["tests" if status == "killed" else "mypy" if status == "caught by type check" else status] += 1
        if status == "survived" and name in reasons[EQUIVALENT]:
            row["equivalent"] += 1
        elif status == "survived" and name in reasons[NOT_EQUIVALENT]:
            row["explained"] += 1
    lines = [
        "| Module | Mutants | Not run yet | Killed by a test | Caught by mypy | Timeout | Survived "
        "| Of them equivalent | Of them explained, not equivalent | Kill rate (of those run) "
        "| Score (equivalents aside) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for module in sorted(counts):
        lines.append(_row(f"`{module}`", counts[module]))
        total.update(counts[module])
    lines.append(_row("**All**", total))
    return lines


def _row(label: str, row: Counter[str]) -> str:
    killed = row["tests"] + row["mypy"] + row["timeout"] + row["segfault"]
    run = row["all"] - row["not checked"]
    scored = run - row["equivalent"]
    return (
        f"| {label} | {row['all']} | {row['not checked']} | {row['tests']} | {row['mypy']} "
        f"| {row['timeout']} | {row['survived']} | {row['equivalent']} | {row['explained']} "
        f"| {killed / run if run else 0:.1%} "
        f"| {killed / scored if scored else 1:.1%} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-diffs", action="store_true", help="name unexplained survivors without diffs")
    args = parser.parse_args()
    by_name = statuses()
    if not by_name:
        print("No mutation results: run `make mutants` first.", file=sys.stderr)
        return 2
    reasons = explained()
    print("\n".join(table(by_name, reasons)))
    unchecked = sorted(name for name, status in by_name.items() if status not in (*KILLED, "survived"))
    if unchecked:
        print(f"\n{len(unchecked)} mutants were not run to the end (status other than killed or survived):")
        print("\n".join(f"  {name}: {by_name[name]}" for name in unchecked))
    named = reasons[EQUIVALENT] | reasons[NOT_EQUIVALENT]
    stale = sorted(name for name in named if by_name.get(name) not in ("survived", "not checked"))
    if stale:
        print(
            f"\n{len(stale)} mutants docs/mutants.md explains did not survive, or no longer exist (renumber):"
        )
        print("\n".join(f"  {name}: {by_name.get(name, 'no such mutant')}" for name in stale))
    open_ = sorted(name for name, status in by_name.items() if status == "survived" and name not in named)
    if not open_:
        return 1 if unchecked or stale else 0
    print(
        f"\n{len(open_)} survivors docs/mutants.md does not explain (kill them with a test, or explain them):"
    )
    for name in open_:
        print(f"\n{name}")
        if not args.no_diffs:
            shown = subprocess.run(
                [MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True, check=False
            )
            print(
                "\n".join(
                    line
                    for line in shown.stdout.splitlines()
                    if line[:1] in "+-" and line[:3] not in ("+++", "---")
                )
            )
    return 1


if __name__ == "__main__":
    sys.exit(main())
