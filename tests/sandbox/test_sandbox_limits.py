"""Rate limiting per API key (a sliding one-second window) and isolated accounts."""

from __future__ import annotations

import time

import pytest

from target_autopilot.sandbox import Sandbox
from tests.polling import in_one_second

from .conftest import Api

FIVE = {"rate_limit": 5}


def burst(api: Api, count: int, key: str | None = None) -> list[int]:
    return [api.get("/lists", key=key).status_code for _ in range(count)]


def emptied(sandbox: Sandbox) -> None:
    """Wait for the rate window to empty, and count from zero."""
    time.sleep(1.05)
    sandbox.reset_stats()


@pytest.mark.parametrize("sandbox", [FIVE], indirect=True)
def test_a_burst_is_answered_with_429s_beyond_the_rate(api: Api, sandbox: Sandbox) -> None:
    statuses, response = in_one_second(lambda: (burst(api, 20), api.get("/lists")), again=sandbox.reset)
    assert statuses == [200] * 5 + [429] * 15
    assert response.json() == {
        "error": "Too Many Requests",
        "message": "You have exceeded your request rate of 5 r/s.",
    }
    assert "Retry-After" not in response.headers
    stats = sandbox.stats()
    assert stats["rate_limited"] == 16
    assert stats["max_requests_in_one_second"] == {sandbox.account_id: 5}


@pytest.mark.parametrize("sandbox", [FIVE], indirect=True)
def test_requests_are_admitted_again_after_a_second(api: Api, sandbox: Sandbox) -> None:
    assert in_one_second(lambda: burst(api, 6), again=sandbox.reset) == [200] * 5 + [429]
    time.sleep(1.05)
    assert in_one_second(lambda: burst(api, 6), again=lambda: emptied(sandbox)) == [200] * 5 + [429]


@pytest.mark.parametrize("sandbox", [FIVE], indirect=True)
def test_the_control_api_is_never_limited_or_counted(api: Api, sandbox: Sandbox) -> None:
    burst(api, 5)
    for _ in range(10):
        sandbox.stats()
    assert sandbox.stats()["requests_total"] == 5


@pytest.mark.parametrize("sandbox", [{"rate_limit": 2, "retry_after": True}], indirect=True)
def test_retry_after_only_when_asked_for(api: Api, sandbox: Sandbox) -> None:
    statuses, response = in_one_second(lambda: (burst(api, 3), api.get("/lists")), again=sandbox.reset)
    assert statuses == [200, 200, 429]
    assert response.headers["Retry-After"] == "1"


def test_the_rate_limit_changes_at_run_time(api: Api, sandbox: Sandbox) -> None:
    assert burst(api, 10) == [200] * 10
    sandbox.configure(rate_limit=3)
    time.sleep(1.05)
    assert in_one_second(lambda: burst(api, 4), again=lambda: emptied(sandbox)) == [200, 200, 200, 429]


def test_each_api_key_is_its_own_account_and_rate(sandbox_factory) -> None:
    sandbox = sandbox_factory(api_keys=("key-one", "key-two"), rate_limit=3)
    one, two = Api(sandbox.base_url, "key-one"), Api(sandbox.base_url, "key-two")
    assert one.get("/account").json()["instanceId"] != two.get("/account").json()["instanceId"]
    one.new_list("Only in one")
    time.sleep(1.05)
    # While key-one is over its rate, key-two is not.
    statuses, other = in_one_second(
        lambda: (burst(one, 4), two.get("/lists")), again=lambda: emptied(sandbox)
    )
    assert statuses == [200, 200, 200, 429]
    assert other.json() == {"lists": []}
    accounts = sandbox.dump()["accounts"]
    assert [len(account["lists"]) for account in accounts] == [1, 0]
