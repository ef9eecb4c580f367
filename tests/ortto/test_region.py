"""`ortto_region` picks Ortto's host (AU and EU instances have their own); `api_url` wins when set.

The host a run contacts is read where a user's network would see it: the target is pointed at a
local HTTPS proxy (HTTPS_PROXY), which notes each CONNECT line and refuses it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.target.support import RunTarget, record, run_cli, schema


class Proxy:
    """A proxy on loopback that records the hosts asked for and answers 502."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.hosts: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                line = connection.makefile("rb").readline().decode("latin-1").split()
                if line[:1] == ["CONNECT"]:
                    self.hosts.append(line[1])
                connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    found = Proxy()
    yield found
    found.server.close()


@pytest.mark.parametrize(
    ("settings", "host"),
    [
        ({}, "api.ap3api.com:443"),
        ({"ortto_region": "au"}, "api.au.ap3api.com:443"),
        ({"ortto_region": "eu"}, "api.eu.ap3api.com:443"),
        ({"ortto_region": "eu", "api_url": "https://ortto.example.com/v1"}, "ortto.example.com:443"),
    ],
    ids=["default", "au", "eu", "api_url-wins"],
)
def test_the_region_picks_the_host(proxy: Proxy, tmp_path: Path, settings: dict[str, str], host: str) -> None:
    config = {"api": "ortto", "api_key": "k", "retry_seconds": 0, **settings}
    env = {"HTTPS_PROXY": proxy.url, "https_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""}

    run = run_cli(tmp_path, config, [schema("vip", ["email"]), record("vip", email="a@example.com")], env=env)

    assert run.code != 0
    assert proxy.hosts
    assert set(proxy.hosts) == {host}


def test_a_region_is_an_ortto_setting(run_target: RunTarget) -> None:
    run = run_target({"api_key": "k", "ortto_region": "eu"}, [schema("vip", ["email"])])

    assert run.code != 0
    assert "ortto_region is a setting of api: ortto only" in run.stderr
