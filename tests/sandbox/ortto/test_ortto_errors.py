"""Ortto errors and limits: 401, 404, 405, error bodies, 2 MB, 429 and the bad-request ban."""

from __future__ import annotations

import time

import pytest

from tests.polling import in_one_second

from .conftest import Ortto, person

ERROR_KEYS = {"request_id", "code", "error"}


@pytest.mark.parametrize(
    ("method", "path", "key", "body", "status"),
    [
        ("POST", "/person/get", "wrong", {}, 401),
        ("POST", "/person/get", "", {}, 401),
        ("POST", "/person/nothing", None, {}, 404),
        ("POST", "/person/merge", None, None, 404),
        ("GET", "/person/merge", None, None, 405),
        ("POST", "/audience/subscribe", None, {}, 405),
        ("POST", "/person/get", None, [1], 400),
    ],
)
def test_error_answers_have_ortto_bodies(
    ortto: Ortto, method: str, path: str, key: str | None, body: object, status: int
) -> None:
    headers = {"X-Api-Key": key} if key is not None else {}
    if key == "":
        response = ortto.session.request(method, ortto.base_url + path, json=body, timeout=10)
    else:
        response = ortto.request(method, path, json=body, headers=headers)
    assert response.status_code == status
    assert set(response.json()) >= ERROR_KEYS
    assert response.json()["code"] == status


def test_payload_over_2_mb_is_refused(ortto: Ortto) -> None:
    big = person("a@example.com", **{"str::first": "x" * 200})
    body = {"people": [big], "pad": "y" * (2 * 1024 * 1024)}
    response = ortto.post("/person/merge", json=body)
    assert response.status_code == 413
    assert ortto.sandbox.people() == []


def test_rate_limit_answers_the_documented_429(ortto: Ortto) -> None:
    ortto.sandbox.configure(ortto_rate_limit=3)
    statuses, last = in_one_second(
        lambda: (
            [ortto.post("/tags/get", json={}).status_code for _ in range(4)],
            ortto.post("/tags/get", json={}),
        ),
        again=ortto.sandbox.reset,
    )
    assert statuses == [200, 200, 200, 429]
    assert last.json() == {"error": {"code": "rate-limit", "message": "rate limit", "try-in-seconds": 1}}
    assert ortto.sandbox.stats()["max_requests_in_one_second"][f"ortto:{ortto.sandbox.account_id}"] == 3


@pytest.mark.parametrize("switch", ["on", "off"])
def test_fifteen_bad_requests_earn_a_ban(ortto: Ortto, switch: str) -> None:
    ortto.sandbox.configure(ortto_ban=switch)
    before = time.monotonic()  # the ban starts after this, with the fifteenth answer
    assert {ortto.post("/person/get", key="wrong", json={}).status_code for _ in range(15)} == {401}
    after = ortto.post("/tags/get", json={})
    if switch == "on":
        assert after.status_code == 429
        # 15 s from the fifteenth answer, less the time that has passed since, rounded up.
        assert 15 - (time.monotonic() - before) <= after.json()["error"]["try-in-seconds"] <= 15
        # The Classic API is not behind Ortto's limiter.
        classic = ortto.session.get(ortto.base_url + "/lists", headers={"autopilotapikey": ortto.api_key})
        assert classic.status_code == 200
    else:
        assert after.status_code == 200


def test_merge_sizes_and_endpoints_are_counted(ortto: Ortto) -> None:
    ortto.merged(*[person(f"p{i}@example.com") for i in range(7)])
    ortto.post("/person/get", json={})
    ortto.post("/person/nothing", json={})
    stats = ortto.sandbox.stats()
    assert stats["merge_sizes"] == {"7": 1}
    assert stats["by_endpoint"]["POST /v1/person/merge"] == {"200": 1}
    assert stats["by_endpoint"]["POST <unknown>"] == {"404": 1}
    assert stats["by_api"] == {"ortto": 3}


@pytest.mark.parametrize("after_apply", [0.0, 1.0])
def test_faults_are_seeded_and_can_come_after_the_change(ortto: Ortto, after_apply: float) -> None:
    def run() -> list[int]:
        ortto.sandbox.reset()
        ortto.sandbox.configure(seed=3, fault_rate=0.5, fault_kinds="500,503", fault_after_apply=after_apply)
        return [ortto.merge(person(f"p{i}@example.com")).status_code for i in range(12)]

    first = run()
    assert first == run()
    assert set(first) == {200, 500, 503}
    stored = len(ortto.sandbox.people())
    assert stored == (12 if after_apply else first.count(200))
    failed = next(
        r for r in (ortto.merge(person("z@example.com")) for _ in range(20)) if r.status_code >= 500
    )
    assert set(failed.json()) >= ERROR_KEYS
