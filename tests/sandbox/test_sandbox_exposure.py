"""Listening beyond loopback is a choice: a control token guards /_sandbox/, and keys are the user's own.

The refusals are checked without serving: nothing here listens on a non-loopback address. The
protection itself is switched on by the token on any address, so it is tested on loopback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from target_autopilot.sandbox import Sandbox, SandboxConfig, SandboxControl, SandboxError, run_sandbox
from target_autopilot.sandbox.cli import config_from, main, serve_parser

from .conftest import Api

TOKEN = "tok-4f9a1c"
ENV = "AUTOPILOT_SANDBOX_CONTROL_TOKEN"
# Every control route, with a body that it accepts.
ROUTES = [
    ("GET", "", None),
    ("GET", "stats", None),
    ("POST", "stats/reset", None),
    ("GET", "config", None),
    ("POST", "config", {"latency_ms": 0}),
    ("GET", "dump", None),
    ("POST", "custom_fields", {"name": "Plan", "fieldType": "string"}),
    ("POST", "ortto/audiences", {"name": "A", "tag": "seg:A"}),
    ("POST", "ortto/suppressed", {"email": "gone@example.com"}),
    ("POST", "ortto/account-tags", {"name": "Org", "count": 2}),
    ("GET", "accounts/0/people", None),
    ("GET", "accounts/0/runs", None),
    ("GET", "accounts/0/lists/nope", None),
    ("POST", "reset", None),
]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.0.2.10"])
def test_a_non_loopback_host_without_a_token_is_refused_before_serving(
    host: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert main(["--host", host, "--port", "0", "--api-key", "mine"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no start-up line: nothing was served
    assert "not a loopback address" in err
    assert "--control-token TOKEN" in err
    assert ENV in err
    assert "127.0.0.1" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_token_and_keep_the_default_key(host: str) -> None:
    config = SandboxConfig(host=host)
    assert (config.control_token, config.api_keys) == (None, ("sandbox-key",))


@pytest.mark.parametrize("keys", [[], ["--ortto-api-key", "sandbox-key", "--api-key", "mine"]])
def test_the_default_key_is_refused_beyond_loopback(
    keys: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0", "--control-token", TOKEN, *keys]) == 2
    err = capsys.readouterr().err
    assert "'sandbox-key': refused on a non-loopback address" in err
    assert "--api-key KEY" in err
    assert TOKEN not in err


def test_a_token_from_the_environment_and_own_keys_allow_a_non_loopback_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    args = serve_parser().parse_args(["--host", "0.0.0.0", "--api-key", "mine"])
    config = config_from(args)
    assert config.control_token == TOKEN
    assert TOKEN not in str(config.to_json())


@pytest.fixture(scope="module")
def guarded() -> Iterator[Sandbox]:
    with run_sandbox(control_token=TOKEN, rate_limit=0) as sandbox:
        yield sandbox


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize(
    "credentials", [{}, {"X-Sandbox-Token": "wrong"}, {"Cookie": "sandbox_session=forged"}]
)
def test_every_control_route_is_401_without_the_token(
    guarded: Sandbox, method: str, path: str, body: object, credentials: dict[str, str]
) -> None:
    answer = requests.request(
        method, f"{guarded.url}/_sandbox/{path}", json=body, headers=credentials, timeout=10
    )
    assert answer.status_code == 401
    assert "X-Sandbox-Token" in answer.json()["message"]
    assert TOKEN not in answer.text


def test_a_refused_reset_wipes_nothing(guarded: Sandbox) -> None:
    Api(guarded.base_url, guarded.api_key).new_list("kept")
    assert requests.post(f"{guarded.url}/_sandbox/reset", timeout=10).status_code == 401
    assert "kept" in guarded.lists()


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_control_route_works_with_the_token_header(
    guarded: Sandbox, method: str, path: str, body: object
) -> None:
    answer = requests.request(
        method, f"{guarded.url}/_sandbox/{path}", json=body, headers={"X-Sandbox-Token": TOKEN}, timeout=10
    )
    assert answer.status_code == (404 if path.endswith("nope") else 200), answer.text
    assert TOKEN not in answer.text


def test_the_control_client_carries_the_token_and_says_when_it_has_none(guarded: Sandbox) -> None:
    assert guarded.config()["control_protected"] is True
    with pytest.raises(SandboxError, match="control token"):
        SandboxControl(guarded.url).stats()


def test_show_reads_a_protected_sandbox_with_its_token_and_says_when_it_lacks_one(
    guarded: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert main(["show", "--url", guarded.url]) == 1
    err = capsys.readouterr().err
    assert "needs its control token" in err
    assert "Traceback" not in err
    monkeypatch.setenv(ENV, TOKEN)
    assert main(["show", "--url", guarded.url]) == 0
    assert capsys.readouterr().out.startswith("Account 0")


def test_loopback_without_a_token_is_open_as_before(sandbox: Sandbox) -> None:
    answer = requests.get(f"{sandbox.url}/_sandbox/config", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["control_protected"] is False


@pytest.mark.parametrize("token_by", ["option", "environment", "none"])
def test_the_start_up_line_says_where_it_listens_and_whether_control_is_protected(token_by: str) -> None:
    command = [sys.executable, "-m", "target_autopilot.sandbox", "serve", "--port", "0"]
    env = {key: value for key, value in os.environ.items() if key != ENV}
    if token_by == "option":
        command += ["--control-token", TOKEN]
    elif token_by == "environment":
        env[ENV] = TOKEN
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"API (http://\S+)/v1", line)
        assert found, line
        assert "Listening on 127.0.0.1 (loopback only)" in line
        protected = token_by != "none"
        assert ("control API protected by the control token" in line) is protected
        assert ("control API open" in line) is not protected
        status = requests.get(f"{found.group(1)}/_sandbox/stats", timeout=10).status_code
        assert status == (401 if protected else 200)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert TOKEN not in line + err
