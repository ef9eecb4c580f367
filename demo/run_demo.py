"""`make demo`: export the demo segments into a local Autopilot sandbox with Meltano.

Steps, each printed before it runs so you can repeat them by hand:
1. `meltano install` (the tap and the target, into .meltano/);
2. start the sandbox on loopback (`autopilot-sandbox serve`) and wait until it answers;
3. `meltano run --full-refresh tap-csv target-autopilot` in the `dev` environment, or with
   `--api ortto` (`make demo API=ortto`) in `dev-ortto`: today's Autopilot, segments as tags;
4. print the per-segment summary from the run report, and what the sandbox now holds (lists, or
   tags and their holders);
5. ask the sync log (`output/autopilot-sync-log.sqlite`) about one person and about the runs;
6. stop the sandbox, whatever happened.

The sandbox enforces Autopilot's documented 5 requests/second (Ortto: 10, the smallest plan's), so
the run shows how the target paces itself against the real limit. The sandbox keeps nothing between
demos, while Meltano remembers
which files it has read (the tap skips unchanged files): hence `--full-refresh`.

Run it with the project's virtual environment: .venv/bin/python demo/run_demo.py
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from target_autopilot.sandbox import SandboxControl

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUTPUT = ROOT / "output"
REPORT = OUTPUT / "autopilot-report.json"
REJECTED = OUTPUT / "autopilot-rejected.jsonl"
SYNC_LOG = OUTPUT / "autopilot-sync-log.sqlite"  # meltano.yml's sync_log_path
SANDBOX_LOG = OUTPUT / "sandbox.log"
PORT = 8787  # the port meltano.yml's dev environment points at
API_KEY = "sandbox-key"
RATE_LIMIT = 5  # requests per second, Autopilot's documented limit
ORTTO_RATE_LIMIT = 10  # Ortto's smallest plan's


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(args: list[str], env: dict[str, str] | None = None) -> None:
    """Run a command from the project root, its output going straight to the terminal."""
    print("$ " + shlex.join([Path(args[0]).name, *args[1:]]), flush=True)
    subprocess.run(args, cwd=ROOT, env=env, check=True)  # noqa: S603 - our own tools, no shell


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, otherwise any free loopback port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            print(f"Port {preferred} is taken; the sandbox uses port {port} instead.")
            return port
    return preferred


def wait_until_answering(base_url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll `GET /account` until the sandbox answers 200; fail early if it exited."""
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise SystemExit(
                f"The sandbox exited with code {server.returncode}; see {SANDBOX_LOG}:\n"
                + SANDBOX_LOG.read_text(encoding="utf-8")
            )
        try:
            answer = requests.get(f"{base_url}/account", headers={"autopilotapikey": API_KEY}, timeout=1)
            if answer.status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"The sandbox did not answer at {base_url} within {timeout:.0f}s.")
        time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def reasons(rejected: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(rejected.items())) or "none"


def print_summary(report: dict[str, Any]) -> None:
    """The per-segment figures of the run report as a table, then the totals; Ortto's in its words."""
    columns = [
        "records", "profiles", "upserted", "unchanged", "memberships_added", "memberships_present", "removed",
    ]  # fmt: skip
    sizes = [7, 8, 8, 9, 6, 7, 7]
    width = max(len("Segment"), *(len(title) for title in report["segments"]))
    added, present = ("tagged", "holding") if report.get("api") == "ortto" else ("added", "present")
    heads = f"records  profiles  upserted  unchanged  {added:>6}  {present:>7}  removed  rejected"
    print(f"{'Segment':<{width}}  {heads}")
    for title, figures in report["segments"].items():
        numbers = "  ".join(f"{figures[column]:>{size}}" for column, size in zip(columns, sizes, strict=True))
        print(f"{title:<{width}}  {numbers}  {reasons(figures['rejected'])}")
    requests = report["requests"]
    print(
        f"\nExport {report['status']} in {report['duration_seconds']:.1f} s: "
        f"{report['records']} records, {report['profiles']} distinct profiles, "
        f"rejected {reasons(report['rejected'])}.\n"
        f"{requests['sent']} requests"
        + (f" (list assignment: {report['list_assignment']})" if report["list_assignment"] else "")
        + ", "
        f"{requests['retries']} retries, {requests['throttled_429']} answered 429."
    )


def first_email(segment: str) -> str:
    """The first address of a demo segment's CSV file."""
    with (ROOT / "demo" / f"{segment}.csv").open(newline="", encoding="utf-8") as handle:
        return next(csv.DictReader(handle))["Email"].strip().lower()


def main() -> int:
    parser = argparse.ArgumentParser(description="Export the demo segments into a local sandbox.")
    parser.add_argument("--api", choices=("classic", "ortto"), default="classic")
    api = parser.parse_args().api
    environment = "dev" if api == "classic" else "dev-ortto"
    step("Installing the tap and the target into .meltano/")
    run([str(BIN / "meltano"), "install"])

    OUTPUT.mkdir(exist_ok=True)
    for stale in (REPORT, REJECTED):
        stale.unlink(missing_ok=True)

    port = free_port(PORT)
    root_url = f"http://127.0.0.1:{port}"
    base_url = f"{root_url}/v1"
    step(f"Starting the Autopilot sandbox at {base_url} (log: {SANDBOX_LOG.relative_to(ROOT)})")
    serve = [str(BIN / "autopilot-sandbox"), "serve", "--port", str(port)]
    serve += ["--rate-limit", str(RATE_LIMIT), "--ortto-rate-limit", str(ORTTO_RATE_LIMIT)]
    print("$ " + shlex.join([Path(serve[0]).name, *serve[1:]]), flush=True)
    with SANDBOX_LOG.open("wb") as log:
        server = subprocess.Popen(serve, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_until_answering(base_url, server, timeout=30)

        step(f"Exporting the demo segments: meltano run tap-csv target-autopilot ({environment} environment)")
        # Set URL and key explicitly: a TARGET_AUTOPILOT_API_KEY exported for production would
        # otherwise win over the dev environment's sandbox key.
        env = dict(os.environ, TARGET_AUTOPILOT_API_URL=base_url, TARGET_AUTOPILOT_API_KEY=API_KEY)
        meltano_run = [str(BIN / "meltano"), "--environment", environment, "run", "--full-refresh"]
        run([*meltano_run, "tap-csv", "target-autopilot"], env=env)

        step(f"Run summary ({REPORT.relative_to(ROOT)})")
        print_summary(json.loads(REPORT.read_text(encoding="utf-8")))
        print(f"Rejected records: {REJECTED.relative_to(ROOT)}")

        step(
            "What the sandbox now holds"
            + (": each segment a tag, with its holders" if api == "ortto" else "")
        )
        run([str(BIN / "autopilot-sandbox"), "show", "--url", root_url])
        if api == "ortto":
            for tag, holders in SandboxControl(root_url, API_KEY).tags().items():
                print(f"  {tag}: {', '.join(holders[:4])}, ... ({len(holders)} holders)")

        step(f"Why is someone in a list, or not? The sync log ({SYNC_LOG.relative_to(ROOT)})")
        sync_log = [str(BIN / "autopilot-sync-log")]
        where = ["--log", str(SYNC_LOG.relative_to(ROOT))]
        run([*sync_log, "why", first_email("churn_risk"), *where])
        run([*sync_log, "runs", *where])
    except subprocess.CalledProcessError as error:
        print(f"\nFailed (exit code {error.returncode}): {shlex.join(error.cmd)}", file=sys.stderr)
        return 1
    finally:
        stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
