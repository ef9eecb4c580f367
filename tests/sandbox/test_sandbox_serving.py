"""Serving: keep-alive connections, SQLite persistence across restarts, concurrent clients, stopping."""

from __future__ import annotations

import http.client
import logging
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from target_autopilot.sandbox import Sandbox
from tests.polling import until

from .conftest import Api


def test_connections_are_kept_alive(sandbox: Sandbox) -> None:
    address = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port)
    for _ in range(3):
        connection.request("GET", "/v1/lists", headers={"autopilotapikey": sandbox.api_key})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Connection") != "close"
        response.read()
    # An unread body on a refused request must not spill into the next request.
    connection.request(
        "POST", "/v1/contact", body=b'{"contact": {"Email": "x@y.z"}}', headers={"autopilotapikey": "bad"}
    )
    refused = connection.getresponse()
    assert refused.status == 401
    refused.read()
    connection.request("GET", "/v1/lists", headers={"autopilotapikey": sandbox.api_key})
    assert connection.getresponse().status == 200
    connection.close()


def test_sqlite_data_survives_a_restart(sandbox_factory, tmp_path: Path) -> None:
    sandbox = sandbox_factory(db=str(tmp_path / "sandbox.db"))
    api = Api(sandbox.base_url, sandbox.api_key)
    list_id = api.new_list("Kept")
    api.upsert(Email="a@example.com", _autopilot_list=list_id, custom={"boolean--Active": True})
    port = sandbox.url
    sandbox.restart()
    assert sandbox.url == port
    assert sandbox.lists() == {"Kept": ["a@example.com"]}
    assert api.get("/contacts/custom_fields").json() == [{"name": "Active", "fieldType": "boolean"}]
    assert api.post(f"/list/{list_id}/contact/a%40example.com").json() == {"not_modified": True}


def test_memory_data_is_gone_after_a_restart(api: Api, sandbox: Sandbox) -> None:
    api.new_list("Lost")
    sandbox.restart()
    assert api.get("/lists").json() == {"lists": []}


def test_concurrent_clients_upsert_without_losing_anything(api: Api, sandbox: Sandbox) -> None:
    list_id = api.new_list("Busy")

    def client(worker: int) -> None:
        own = Api(sandbox.base_url, sandbox.api_key)
        for batch in range(3):
            contacts = [
                {"Email": f"w{worker}-{batch}-{i}@example.com", "_autopilot_list": list_id} for i in range(50)
            ]
            assert own.post("/contacts", json={"contacts": contacts}).status_code == 200
            assert own.get("/lists").status_code == 200

    workers = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(sandbox.lists()["Busy"]) == 6 * 3 * 50


def _post_list_in_background(sandbox: Sandbox, answers: list[object]) -> threading.Thread:
    """POST /list from another thread; returns once the sandbox has admitted the request, which then
    waits out the sandbox's latency (the stats note an admitted request before its latency)."""
    sandbox.reset_stats()

    def call() -> None:
        try:
            answers.append(Api(sandbox.base_url, sandbox.api_key).post("/list", json={"name": "Late"}))
        except requests.ConnectionError as error:
            answers.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    until(lambda: sandbox.stats()["max_requests_in_one_second"], "the request reached the sandbox")
    return thread


def _handlers() -> set[threading.Thread]:
    """The server threads handling a connection now (socketserver names them after their target)."""
    return {thread for thread in threading.enumerate() if "process_request_thread" in thread.name}


def test_stop_answers_a_request_in_flight_then_closes_quietly(
    sandbox_factory, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = sandbox_factory(latency_ms=2000)
    idle = Api(sandbox.base_url, sandbox.api_key)
    sandbox.configure(latency_ms=0)
    assert idle.get("/lists").status_code == 200  # a keep-alive connection, idle during stop()
    sandbox.configure(latency_ms=2000)
    answers: list[object] = []
    thread = _post_list_in_background(sandbox, answers)
    # A grace period far beyond the wait below: stop() must end once the request in flight is answered,
    # without waiting for the idle connection.
    stopping = threading.Thread(target=sandbox.stop, kwargs={"timeout": 120})
    stopping.start()
    until(lambda: not stopping.is_alive(), "stop() returned while a keep-alive connection was idle")
    thread.join()
    response = answers[0]
    assert isinstance(response, requests.Response)
    assert response.status_code == 200
    assert response.headers["Connection"] == "close"  # answered while stopping, not before
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert "Traceback" not in capfd.readouterr().err


def test_stop_disconnects_a_request_that_outlives_the_grace_period_quietly(
    sandbox_factory, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = sandbox_factory(latency_ms=2000)
    answers: list[object] = []
    before = _handlers()
    thread = _post_list_in_background(sandbox, answers)
    handler = _handlers() - before
    assert handler, "no server thread handles the request"
    sandbox.stop(timeout=0.1)
    thread.join()
    assert isinstance(answers[0], requests.ConnectionError)
    # The handler wakes up to a closed store, and must fail without a word.
    until(lambda: not any(t.is_alive() for t in handler), "the request's handler ended")
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert "Traceback" not in capfd.readouterr().err


def test_stats_count_the_most_requests_answered_at_once(sandbox_factory) -> None:
    sandbox = sandbox_factory(latency_ms=1500)
    api = Api(sandbox.base_url, sandbox.api_key)
    threads = [threading.Thread(target=lambda: api.get("/lists")) for _ in range(3)]
    for thread in threads:
        thread.start()
    until(lambda: sandbox.stats()["max_requests_at_once"] == 3, "three requests in the sandbox at once")
    for thread in threads:
        thread.join()
    sandbox.reset_stats()
    assert sandbox.stats()["max_requests_at_once"] == 0
    api.get("/lists")
    assert sandbox.stats()["max_requests_at_once"] == 1
