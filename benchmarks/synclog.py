"""What the sync log (issue 22) costs: the same runs with and without `sync_log_path`, side by side.

Run `.venv/bin/python benchmarks/synclog.py [--n 100000] [--tries 3]`. The API is instant: a sandbox
on loopback without rate limit or latency, and `requests_per_second` far above what it answers, so
the log's cost is not hidden behind waiting for the API. Each try runs, alternating with and without
the log, each in its own fresh sandbox: a first export of N profiles (N `added` rows), then the
same input again (N `unchanged` rows for a run that sends almost nothing: the log's worst case).
The best (lowest wall time) of the tries of each is compared. Peak RSS is the target's own. On a
loaded machine the side-by-side difference is within the noise; the time the run spent logging (the
target's "Sync log: ... in N s" line, every call into the log timed) is the figure that is not.

Writes its table between the markers in BENCHMARKS.md (the rest of the file is kept).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import Bench, Measured, machine, render, run_target, sandbox_child, write_input, write_markdown

MARKERS = ("<!-- bench-synclog:start -->", "<!-- bench-synclog:end -->")
RUNS = ("first export", "unchanged re-export")
GOAL = 0.10  # at most 10% more wall time
_SPENT = re.compile(r"Sync log: .* in ([0-9.]+) s")


def logged_seconds(stderr: str) -> float:
    """The time a run spent on its sync log, from its line "Sync log: ... in 1.2 s"."""
    found = _SPENT.search(stderr)
    if found is None:
        raise RuntimeError(f"no 'Sync log:' line in the run's log:\n{stderr[-2000:]}")
    return float(found.group(1))


def pair(work: Path, source: Path, logged: bool) -> list[Measured]:
    """A first export and an unchanged re-export into a fresh sandbox, with or without the log."""
    settings: dict[str, Any] = {"requests_per_second": 100_000}
    if logged:
        settings["sync_log_path"] = str(work / "sync-log.sqlite")
    with sandbox_child() as (sandbox, _pid):
        return [run_target(sandbox, source, work, **settings) for _ in RUNS]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="profiles (default 100,000)")
    parser.add_argument("--tries", type=int, default=3, help="tries of each (default 3); the best counts")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C does: the sandboxes and temporary files are cleaned up.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    info = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autopilot-bench-synclog-") as tmp:
        bench = Bench(quick=False, tmp=Path(tmp))
        source = write_input(bench.workdir("input") / "input.jsonl", args.n)
        measured: dict[bool, list[list[Measured]]] = {False: [], True: []}
        for attempt in range(args.tries):
            for logged in (False, True) if attempt % 2 == 0 else (True, False):
                work = bench.workdir(f"{'with' if logged else 'without'}-{attempt}")
                measured[logged].append(pair(work, source, logged))
                print(f"  try {attempt + 1}, log {'on' if logged else 'off'}: done", file=sys.stderr)
            log_size = (work.parent / f"with-{attempt}" / "sync-log.sqlite").stat().st_size
        name = f"sync log, {args.n:,} profiles, best of {args.tries}, API instant"
        for index, run in enumerate(RUNS):
            without = min((runs[index] for runs in measured[False]), key=lambda m: m.wall)
            with_log = min((runs[index] for runs in measured[True]), key=lambda m: m.wall)
            for label, ours in (("without", without), ("with", with_log)):
                bench.add(
                    name,
                    f"{run}: wall / CPU / peak RSS {label} the log",
                    f"{ours.wall:.1f} s / {ours.cpu:.1f} s / {ours.rss_mb:.0f} MB",
                )
            spent = logged_seconds(with_log.stderr)
            share = spent / (with_log.wall - spent)
            bench.add(
                name,
                f"{run}: time spent logging (the run's log line) / the rest of its wall time",
                f"{spent:.2f} s / {with_log.wall - spent:.1f} s = {share:+.1%}",
                "≤ +10%",
                share <= GOAL,
            )
            bench.add(
                name,
                f"{run}: wall / CPU added by the log (side by side, load-sensitive)",
                f"{with_log.wall / without.wall - 1:+.1%} / {with_log.cpu / without.cpu - 1:+.1%}",
            )
            memory = with_log.rss_mb - without.rss_mb
            bench.add(name, f"{run}: peak RSS added by the log", f"{memory:+.0f} MB")
        bench.notes.append(
            f"The log file after both runs: {log_size / 1e6:.1f} MB for {2 * args.n:,} `changes` rows."
        )
    command = f".venv/bin/python benchmarks/synclog.py --n {args.n} --tries {args.tries}"
    body = render(bench, info, command, time.perf_counter() - started)
    print(body)
    if not args.no_write:
        write_markdown(body, *MARKERS)


if __name__ == "__main__":
    main()
