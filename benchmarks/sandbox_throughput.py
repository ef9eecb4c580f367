"""Throughput of the Autopilot sandbox on loopback (rate limit off, no latency), in requests/second.

Run it as `python benchmarks/sandbox_throughput.py [--requests N] [--threads T]`, or import
`measure()`. The sandbox runs as its own process (`python -m target_autopilot.sandbox`), as in a
demo or CI job, so that the clients' CPU time does not compete with it for one interpreter lock.
Client threads, each with a keep-alive `requests.Session`, send a fixed number of requests to
the fresh sandbox, in one of two mixes:

- "export" (the default): what exporting a segment costs when `_autopilot_list` is not honoured
  in bulk items; of every 10 requests, 1 `POST /contacts` of 100 contacts, 8 membership
  `POST /list/{id}/contact/{email}` and 1 `GET /lists`;
- "bulk": only `POST /contacts` of 100 new contacts each (divide by 100 for contacts/second).

Every answer must be a 200, or the run fails.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from target_autopilot.sandbox import SandboxControl

BULK_SIZE = 100
MIXES = ("export", "bulk")


def _bulk(worker: int, i: int) -> dict[str, object]:
    return {
        "contacts": [
            {
                "Email": f"w{worker}-{i}-{n}@bench.example",
                "FirstName": "Bench",
                "custom": {"string--Segment": "throughput"},
            }
            for n in range(BULK_SIZE)
        ]
    }


def _worker(
    base_url: str, api_key: str, list_id: str, worker: int, count: int, mix: str, errors: list[str]
) -> None:
    headers = {"autopilotapikey": api_key}
    last_bulk = 0
    with requests.Session() as session:
        for i in range(count):
            step = i % 10
            if mix == "bulk" or step == 0:
                response = session.post(
                    f"{base_url}/contacts", json=_bulk(worker, i), headers=headers, timeout=30
                )
                last_bulk = i
            elif step == 9:
                response = session.get(f"{base_url}/lists", headers=headers, timeout=30)
            else:
                email = f"w{worker}-{last_bulk}-{step}@bench.example"
                response = session.post(
                    f"{base_url}/list/{list_id}/contact/{email}", headers=headers, timeout=30
                )
            if response.status_code != 200:
                errors.append(f"{response.request.method} {response.url}: {response.status_code}")


@contextmanager
def sandbox_process() -> Iterator[SandboxControl]:
    """A sandbox on a free loopback port in a child process, rate limit off, no latency."""
    command = [sys.executable, "-m", "target_autopilot.sandbox", "--port", "0", "--rate-limit", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        found = re.search(r"API (http://\S+)/v1", process.stdout.readline())
        if found is None:
            raise RuntimeError("the sandbox did not start")
        sandbox = SandboxControl(found.group(1))
        sandbox.wait_until_ready()
        yield sandbox
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure(requests_total: int = 5000, threads: int = 4, mix: str = "export") -> float:
    """Send about `requests_total` requests of a mix from `threads` clients; return requests/s."""
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {MIXES}")
    with sandbox_process() as sandbox:
        headers = {"autopilotapikey": sandbox.api_key}
        created = requests.post(
            f"{sandbox.base_url}/list", json={"name": "Bench"}, headers=headers, timeout=30
        )
        created.raise_for_status()
        list_id = created.json()["list_id"]
        errors: list[str] = []
        share = requests_total // threads
        workers = [
            threading.Thread(
                target=_worker,
                args=(sandbox.base_url, sandbox.api_key, list_id, n, share, mix, errors),
            )
            for n in range(threads)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    return share * threads / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per mix (default 5000)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    args = parser.parse_args()
    for mix in MIXES:
        rate = measure(args.requests, args.threads, mix)
        extra = f", {rate * BULK_SIZE:,.0f} contacts/s" if mix == "bulk" else ""
        print(f"sandbox throughput, {mix} mix: {rate:,.0f} requests/s{extra}")


if __name__ == "__main__":
    main()
