"""Throughput of the Autopilot sandbox on loopback (rate limit off, no latency), in requests/second.

Run it as `python benchmarks/sandbox_throughput.py [--requests N] [--clients C] [--mix M]`, or import
`measure()`. The sandbox runs as its own process (`python -m target_autopilot.sandbox`), as in a
demo or CI job. The load comes from C client *processes* (default 4), each with one keep-alive
`http.client` connection, so that no client shares an interpreter lock with another client or with
the server. Every request body is encoded before the clock starts, and the clock runs from the
moment every client is ready until the last answer is read; each answer is read in full and must
be a 200, or the run fails. Mixes:

- "export" (the default): what exporting a segment costs when `_autopilot_list` is not honoured
  in bulk items; of every 10 requests, 1 `POST /contacts` of 100 contacts, 8 membership
  `POST /list/{id}/contact/{email}` and 1 `GET /lists`;
- "bulk": only `POST /contacts` of 100 new contacts each (multiply by 100 for contacts/second);
- "lists": only `GET /lists` (the cheapest request: the cost of the serving layer itself);
- "ortto": the Ortto API's export mix; of every 10 requests, 1 `POST /v1/person/merge` of 100 new
  people with a tag, 7 merges of one of them (a field and a tag changed), 1 `POST /v1/person/get`
  of 50 tag holders and 1 `POST /v1/tags/get`;
- "merge": only Ortto merges of 100 new people with a tag each (x 100 for people/second).

The clients run on the same machine as the server, so on a small machine they still take CPU time
from it: the figure is a lower bound of what the server alone can do.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from target_autopilot.sandbox import SandboxControl, sandbox_process

BULK_SIZE = 100
MIXES = ("export", "bulk", "lists", "ortto", "merge")
DEFAULT_CLIENTS = 4

# (method, path, body) of one request; the body is already JSON-encoded.
Request = tuple[str, str, bytes | None]


def _bulk_body(worker: str, i: int) -> bytes:
    contacts = [
        {
            "Email": f"w{worker}-{i}-{n}@bench.example",
            "FirstName": "Bench",
            "custom": {"string--Segment": "throughput"},
        }
        for n in range(BULK_SIZE)
    ]
    return json.dumps({"contacts": contacts}).encode()


def _merge_body(worker: str, i: int, size: int, tag: str) -> bytes:
    people = [
        {"fields": {"str::email": f"w{worker}-{i}-{n}@bench.example", "str::first": "Bench"}, "tags": [tag]}
        for n in range(size)
    ]
    return json.dumps({"people": people, "merge_by": ["str::email"], "merge_strategy": 2}).encode()


def _ortto_plan(worker: str, count: int, mix: str, tag_id: int) -> list[Request]:
    """An Ortto client's requests: merges of 100, single updates of their people, reads (of the holders
    of tag `tag_id`, seg:A, through the filter a real account was recorded taking)."""
    planned: list[Request] = []
    holders = json.dumps({"limit": 50, "filter": {"$u4s::is": {"field_id": "u4s::t", "value": tag_id}}})
    last_bulk = 0
    for i in range(count):
        step = i % 10
        if mix == "merge" or step == 0:
            planned.append(("POST", "/v1/person/merge", _merge_body(worker, i, BULK_SIZE, "seg:A")))
            last_bulk = i
        elif step == 8:
            planned.append(("POST", "/v1/person/get", holders.encode()))
        elif step == 9:
            planned.append(("POST", "/v1/tags/get", b"{}"))
        else:
            one = json.loads(_merge_body(worker, last_bulk, 1, f"seg:{step}"))
            one["people"][0]["fields"]["str::email"] = f"w{worker}-{last_bulk}-{step}@bench.example"
            planned.append(("POST", "/v1/person/merge", json.dumps(one).encode()))
    return planned


def plan(worker: str, count: int, mix: str, list_id: str, tag_id: int) -> list[Request]:
    """The requests one client sends, in order (membership POSTs name contacts of its last bulk)."""
    if mix in ("ortto", "merge"):
        return _ortto_plan(worker, count, mix, tag_id)
    planned: list[Request] = []
    last_bulk = 0
    for i in range(count):
        step = i % 10
        if mix == "lists" or (mix == "export" and step == 9):
            planned.append(("GET", "/v1/lists", None))
        elif mix == "bulk" or step == 0:
            planned.append(("POST", "/v1/contacts", _bulk_body(worker, i)))
            last_bulk = i
        else:
            email = quote(f"w{worker}-{last_bulk}-{step}@bench.example", safe="@")
            planned.append(("POST", f"/v1/list/{list_id}/contact/{email}", None))
    return planned


def _client(
    url: str,
    api_key: str,
    planned: list[Request],
    ready: Event,
    go: Event,
    results: multiprocessing.Queue[list[str]],
) -> None:
    """One client process: connect, say it is ready, wait for the start, send every request."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    # Each API reads its own header; the sandbox's default key is valid for both.
    headers = {"autopilotapikey": api_key, "X-Api-Key": api_key, "Content-Type": "application/json"}
    errors: list[str] = []
    connection.connect()
    ready.set()
    go.wait()
    for method, path, body in planned:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            errors.append(f"{method} {path}: {response.status}")
    connection.close()
    results.put(errors)


def _post(sandbox: SandboxControl, path: str, body: object) -> Any:
    """The JSON answer of a POST before the clock starts (the default key is valid for both APIs)."""
    address = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    headers = {"autopilotapikey": sandbox.api_key, "X-Api-Key": sandbox.api_key}
    connection.request("POST", path, body=json.dumps(body), headers=headers)
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"POST {path}: {response.status} {answer!r}")
    return json.loads(answer)


def _new_list(sandbox: SandboxControl) -> str:
    return str(_post(sandbox, "/v1/list", {"name": "Bench"})["list_id"])


def _tag_id(sandbox: SandboxControl, name: str) -> int:
    """The id of tag `name`, made by merging one person with it (the Ortto mix reads its holders)."""
    person = {"fields": {"str::email": f"{name}@bench.example"}, "tags": [name]}
    _post(sandbox, "/v1/person/merge", {"people": [person], "merge_by": ["str::email"]})
    return int(next(tag["id"] for tag in _post(sandbox, "/v1/tags/get", {}) if tag["name"] == name))


def setup(clients: int = DEFAULT_CLIENTS) -> str:
    """How the figure was measured, to print next to it."""
    return (
        f"{clients} client processes x 1 keep-alive http.client connection, bodies pre-encoded; "
        f"sandbox in its own process; all on one machine with {os.cpu_count()} CPUs"
    )


def measure(requests_total: int = 5000, clients: int = DEFAULT_CLIENTS, mix: str = "export") -> float:
    """Send about `requests_total` requests of a mix from `clients` processes to a fresh sandbox
    process; return requests/s."""
    return measure_with_cpu(requests_total, clients, mix)[0]


def measure_with_cpu(requests_total: int, clients: int, mix: str) -> tuple[float, float]:
    """`measure()`, and the requests answered per CPU-second of the sandbox process: what it does
    with a whole core, a figure that other load on the machine disturbs far less."""
    limits_off = ("--rate-limit", "0", "--ortto-rate-limit", "0", "--ortto-ban", "off")
    with sandbox_process(*limits_off) as (sandbox, process):
        before = _cpu_seconds(process.pid)
        rate = load(sandbox, requests_total, clients, mix)
        used = _cpu_seconds(process.pid) - before
    return rate, (requests_total // clients * clients) / used


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from Linux's /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(sandbox: SandboxControl, requests_total: int, clients: int, mix: str) -> float:
    """Send about `requests_total` requests of a mix to a running sandbox (rate limit off, no
    latency); return requests/s. Every mix starts with a new list."""
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {MIXES}")
    context = multiprocessing.get_context("fork")
    share = requests_total // clients
    list_id = _new_list(sandbox)
    tag_id = _tag_id(sandbox, "seg:A") if mix == "ortto" else 0
    run = f"{time.time_ns() % 10**12}"  # fresh emails against a sandbox that already has data
    go = context.Event()
    results: multiprocessing.Queue[list[str]] = context.Queue()
    workers = []
    for n in range(clients):
        ready = context.Event()
        planned = plan(f"{run}-{n}", share, mix, list_id, tag_id)
        args = (sandbox.url, sandbox.api_key, planned, ready, go, results)
        workers.append((context.Process(target=_client, args=args), ready))
    for process, _ in workers:
        process.start()
    for _, ready in workers:
        ready.wait(timeout=30)
    started = time.perf_counter()
    go.set()
    errors = [error for _ in workers for error in results.get(timeout=600)]
    elapsed = time.perf_counter() - started
    for process, _ in workers:
        process.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    return share * clients / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per mix (default 5000)")
    parser.add_argument(
        "--clients", type=int, default=DEFAULT_CLIENTS, help=f"client processes (default {DEFAULT_CLIENTS})"
    )
    parser.add_argument("--mix", choices=MIXES, action="append", help="mix to run, repeatable (default: all)")
    parser.add_argument(
        "--url", help="load a sandbox already running at this root URL (default: start one per mix)"
    )
    args = parser.parse_args()
    print(f"setup: {setup(args.clients)}" + (f", sandbox at {args.url}" if args.url else ""))
    for mix in args.mix or MIXES:
        per_cpu = ""
        if args.url:
            rate = load(SandboxControl(args.url), args.requests, args.clients, mix)
        else:
            rate, cpu_rate = measure_with_cpu(args.requests, args.clients, mix)
            per_cpu = f"; {cpu_rate:,.0f} per sandbox CPU-second"
        extra = f", {rate * BULK_SIZE:,.0f} contacts/s" if mix in ("bulk", "merge") else ""
        extra += per_cpu
        print(f"sandbox throughput, {mix} mix: {rate:,.0f} requests/s{extra}", flush=True)


if __name__ == "__main__":
    main()
