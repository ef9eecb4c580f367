"""Fault injection (repeatable with a seed, before or after the change) and latency."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from target_autopilot.sandbox import Sandbox
from tests.polling import until

from .conftest import Api


def outcomes(api: Api, count: int) -> list[str]:
    found = []
    for _ in range(count):
        try:
            found.append(str(api.get("/lists").status_code))
        except requests.ConnectionError:
            found.append("drop")
    return found


SEEDED = {"fault_rate": 0.5, "seed": 7, "fault_kinds": ("500", "502", "503", "drop", "429")}


def test_the_same_seed_gives_the_same_sequence(sandbox_factory) -> None:
    first = sandbox_factory(**SEEDED)
    second = sandbox_factory(**SEEDED)
    sequence = outcomes(Api(first.base_url, first.api_key), 40)
    assert outcomes(Api(second.base_url, second.api_key), 40) == sequence
    assert set(sequence) == {"200", "500", "502", "503", "drop", "429"}
    first.reset()  # restarts the sequence too
    assert outcomes(Api(first.base_url, first.api_key), 40) == sequence
    first.configure(seed=8)
    assert outcomes(Api(first.base_url, first.api_key), 40) != sequence


@pytest.mark.parametrize(
    ("sandbox", "applied"),
    [
        ({"fault_rate": 1.0, "fault_kinds": ("503",), "fault_after_apply": 1.0}, True),
        ({"fault_rate": 1.0, "fault_kinds": ("503",), "fault_after_apply": 0.0}, False),
    ],
    indirect=["sandbox"],
)
def test_a_fault_after_apply_leaves_the_change_applied(api: Api, sandbox: Sandbox, applied: bool) -> None:
    response = api.post("/contact", json={"contact": {"Email": "a@example.com"}})
    assert response.status_code == 503
    assert response.json()["error"] == "Service Unavailable"
    assert (sandbox.contact("a@example.com") is not None) is applied
    when = "after_apply" if applied else "before_apply"
    assert sandbox.stats()["faults"] == {"total": 1, "by_kind": {"503": {when: 1}}}


@pytest.mark.parametrize(
    "sandbox", [{"fault_rate": 1.0, "fault_kinds": ("drop",), "fault_after_apply": 1.0}], indirect=True
)
def test_a_drop_closes_the_connection_without_an_answer(api: Api, sandbox: Sandbox) -> None:
    with pytest.raises(requests.ConnectionError):
        api.post("/list", json={"name": "Made anyway"})
    assert sandbox.list_titles() == ["Made anyway"]
    sandbox.configure(fault_rate=0)
    assert api.get("/lists").status_code == 200  # the client reconnects
    assert sandbox.stats()["by_status"] == {"drop": 1, "200": 1}


@pytest.mark.parametrize("sandbox", [{"latency_ms": 150}], indirect=True)
def test_latency_delays_api_requests_but_not_the_control_api(api: Api, sandbox: Sandbox) -> None:
    started = time.perf_counter()
    api.get("/lists")
    assert time.perf_counter() - started >= 0.15
    # The control API answers while an API request waits out its latency.
    sandbox.configure(latency_ms=2000)
    sandbox.reset_stats()
    waiting = threading.Thread(target=api.get, args=("/lists",))
    waiting.start()
    until(lambda: sandbox.stats()["max_requests_in_one_second"], "the API request reached the sandbox")
    assert sandbox.stats()["requests_total"] == 0  # answered before the API request
    waiting.join()
    assert sandbox.stats()["requests_total"] == 1


@pytest.mark.parametrize("sandbox", [{"spike_rate": 1.0, "spike_ms": 150}], indirect=True)
def test_latency_spikes(api: Api) -> None:
    started = time.perf_counter()
    api.get("/lists")
    assert time.perf_counter() - started >= 0.15


@pytest.mark.parametrize(
    "sandbox", [{"fault_rate": 1.0, "fault_kinds": ("429",), "fault_after_apply": 1.0}], indirect=True
)
def test_an_injected_429_never_comes_after_the_change(api: Api, sandbox: Sandbox) -> None:
    response = api.post("/contact", json={"contact": {"Email": "a@example.com"}})
    assert response.status_code == 429
    assert response.json()["message"] == "You have exceeded your request rate of 5 r/s."
    assert sandbox.contact("a@example.com") is None
