"""Scale benchmark (issue 20): time and peak memory at 10k, 100k and 1M profiles, beside target-csv.

`.venv/bin/python benchmarks/scale.py` runs, at each size, MeltanoLabs' `target-csv` on the input, then
for Autopilot Classic and for Ortto (one segment, sandboxes with no rate limit, on loopback) a first
export and an unchanged re-run in mirror mode (the stream sent whole, so every holder is read into
staging and diffed). Each run is the real CLI in its own process, measured as in `run.py`. It writes
the table between the scale markers of BENCHMARKS.md (`--no-write` prints it only).

`--pair` runs target-csv again right before each run of target-autopilot and compares the two: on a
shared machine whose load changes within minutes, a ratio of neighbours means more (it costs four
target-csv runs a size instead of one, so it is meant for 100k, not 1M). `--repeat N` does all of it
N times and adds the median of each run's N wall-time ratios: one pair can still land on a burst of
load (the same code measured 0.94x and 1.24x in two runs ten minutes apart).

`--profile N` instead runs the first export and the re-run of N profiles (Classic) under memray and
prints what holds memory at the peak of each, by allocating line (`--api ortto` for Ortto).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from run import (
    BIN,
    Measured,
    ensure_target_csv,
    machine,
    measure,
    run_target,
    write_input,
    write_markdown,
)

from target_autopilot.sandbox import SandboxControl, sandbox_process

SIZES = (10_000, 100_000, 1_000_000)
MARKERS = ("<!-- bench-scale:start -->", "<!-- bench-scale:end -->")
APIS: dict[str, dict[str, Any]] = {
    "Classic": {},
    "Ortto": {"api": "ortto"},
}
RUNS: dict[str, dict[str, Any]] = {
    "first export": {},
    "unchanged re-run, mirror": {"sync_mode": "mirror"},
}
RSS_GOAL = 200  # MiB (`Measured.rss_mb` is ru_maxrss in KiB / 1024)
HEADER = [
    "| Profiles | Run | Wall | s / 100k | Peak RSS | Requests | target-csv: wall / peak RSS "
    "| Wall ratio | RSS ratio |",
    "|---:|---|---:|---:|---:|---:|---|---:|---:|",
]


@contextmanager
def unlimited_sandbox() -> Iterator[SandboxControl]:
    """A sandbox of both APIs in a child process, with neither rate limit."""
    with sandbox_process("--rate-limit", "0", "--ortto-rate-limit", "0", "--seed", "1") as (
        control,
        _process,
    ):
        yield control


def row(n: int, name: str, ours: Measured, csv: Measured) -> str:
    per = ours.wall / n * 100_000
    return (
        f"| {n:,} | {name} | {ours.wall:.1f} s | {per:.1f} s | {ours.rss_mb:.0f} MiB | "
        f"{ours.report['requests']['sent']:,} | {csv.wall:.1f} s / {csv.rss_mb:.0f} MiB | "
        f"{ours.wall / csv.wall:.2f}x | {ours.rss_mb / csv.rss_mb:.2f}x |"
    )


def scale(
    sizes: tuple[int, ...], tmp: Path, pair: bool = False, ratios: dict[str, list[float]] | None = None
) -> tuple[list[str], list[float]]:
    """The table's rows, and the peak RSS of every run of target-autopilot (`pair`: each beside a
    target-csv run of its own, just before it); each run's wall-time ratio is added to `ratios`."""
    rows: list[str] = []
    peaks: list[float] = []
    ratios = {} if ratios is None else ratios
    csv_command = [str(ensure_target_csv()), "--config"]
    for n in sizes:
        work = tmp / str(n)
        work.mkdir()
        source = write_input(work / "input.jsonl", n, whole=True)
        csv_dir = work / "csv"
        csv_dir.mkdir()
        (csv_dir / "config.json").write_text(json.dumps({"output_path": str(csv_dir / "out")}))
        csv = baseline(csv_command, source, csv_dir, n)
        fresh = True  # the target-csv run just made is the neighbour of the first run
        for api, api_settings in APIS.items():
            with unlimited_sandbox() as sandbox:
                for run, run_settings in RUNS.items():
                    runs = work / f"{api}-{run[:5]}"
                    runs.mkdir()
                    if pair and not fresh:
                        csv = baseline(csv_command, source, csv_dir, n)
                    fresh = False
                    ours = run_target(
                        sandbox, source, runs, requests_per_second=100_000, **api_settings, **run_settings
                    )
                    rows.append(row(n, f"{api}, {run}", ours, csv))
                    peaks.append(ours.rss_mb)
                    ratios.setdefault(f"{n:,} | {api}, {run}", []).append(ours.wall / csv.wall)
                    print(f"  {rows[-1]}", file=sys.stderr, flush=True)
        shutil.rmtree(work)  # a million profiles' input and CSV output: not kept for the next size
    return rows, peaks


def baseline(command: list[str], source: Path, csv_dir: Path, n: int) -> Measured:
    """One measured run of target-csv on `source`."""
    csv = measure([*command, str(csv_dir / "config.json")], source, csv_dir)
    if csv.code != 0:
        raise RuntimeError(f"target-csv exited {csv.code}:\n{csv.stderr[-3000:]}")
    print(f"  {n:,} target-csv: {csv.wall:.1f} s, {csv.rss_mb:.0f} MiB", file=sys.stderr, flush=True)
    return csv


def profile(n: int, api: str, tmp: Path) -> None:
    """Run the first export and the re-run under memray; print the largest holders at each peak."""
    source = write_input(tmp / "input.jsonl", n, whole=True)
    memray = [str(BIN / "memray"), "run", "--trace-python-allocators", "-q", "-o"]
    with unlimited_sandbox() as sandbox:
        for run, run_settings in RUNS.items():
            work = tmp / run[:5]
            work.mkdir()
            capture = work / "memray.bin"
            run_target(
                sandbox,
                source,
                work,
                prefix=[*memray, str(capture)],
                requests_per_second=100_000,
                **APIS[api],
                **run_settings,
            )
            print(f"{api}, {run}, {n:,} profiles:")
            for line in holders(capture):
                print(f"  {line}")


def holders(capture: Path, top: int = 12) -> list[str]:
    """What held memory at the peak, by the innermost frame of this project (or else of anything)."""
    from memray import FileReader  # noqa: PLC0415 (a dev dependency, only for --profile)

    reader = FileReader(str(capture))
    sizes: Counter[str] = Counter()
    for record in reader.get_high_watermark_allocation_records(merge_threads=True):
        frames = record.stack_trace()
        ours = [frame for frame in frames if "target_autopilot" in frame[1]]
        function, file, line = (ours or frames or [("?", "?", 0)])[0]
        sizes[f"{function} ({file.rsplit('/', 2)[-2:][-1]}:{line})"] += record.size
    peak = reader.metadata.peak_memory
    lines = [f"peak of the Python heap and native allocations: {peak / 2**20:.1f} MiB"]
    lines += [f"{size / 2**20:6.1f} MiB  {where}" for where, size in sizes.most_common(top)]
    return lines


def medians(ratios: dict[str, list[float]]) -> list[str]:
    """A table of each run's wall-time ratios against target-csv and their median."""
    lines = ["", "| Profiles | Run | Wall ratios, in order | Median |", "|---:|---|---|---:|"]
    for name, values in ratios.items():
        shown = ", ".join(f"{value:.2f}x" for value in values)
        lines.append(f"| {name} | {shown} | {statistics.median(values):.2f}x |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated profile counts")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    parser.add_argument("--pair", action="store_true", help="a target-csv run right before each run")
    parser.add_argument("--repeat", type=int, default=1, help="run it all N times; add median ratios")
    parser.add_argument("--profile", type=int, metavar="N", help="profile memory at N profiles with memray")
    parser.add_argument("--api", choices=sorted(APIS), default="Classic", help="the API for --profile")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C does: the sandboxes and temporary files are cleaned up.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="autopilot-scale-") as tmp:
        if args.profile:
            profile(args.profile, args.api, Path(tmp))
            return
        sizes = tuple(int(size) for size in args.sizes.split(","))
        info = machine()
        started = time.perf_counter()
        rows: list[str] = []
        peaks: list[float] = []
        ratios: dict[str, list[float]] = {}
        for round_ in range(args.repeat):
            work = Path(tmp) / f"round-{round_}"
            work.mkdir()
            more_rows, more_peaks = scale(sizes, work, args.pair, ratios)
            rows += more_rows
            peaks += more_peaks
    took = time.perf_counter() - started
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    body = "\n".join(
        [
            f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
            f"`.venv/bin/python benchmarks/scale.py{' --pair' if args.pair else ''}` in {took / 60:.1f} min.",
            "",
            *(f"- {key}: {value}" for key, value in info.items()),
            f"- Load average at the end (1, 5, 15 min): {load}",
            f"- Largest peak RSS of target-autopilot: {max(peaks):.0f} MiB (goal ≤ {RSS_GOAL} MiB: "
            f"{'met' if max(peaks) <= RSS_GOAL else '**not met**'})",
            "",
            *HEADER,
            *rows,
            *(medians(ratios) if args.repeat > 1 else []),
        ]
    )
    print(body)
    if not args.no_write:
        write_markdown(body, *MARKERS)


if __name__ == "__main__":
    main()
