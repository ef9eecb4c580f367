"""`api`: a keep-alive HTTP client bound to the `sandbox` fixture's base URL and API key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from target_autopilot.sandbox import Sandbox


class Api:
    """Raw HTTP to the sandbox's /v1 API: `api.get("/lists")`, with the key unless told otherwise."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.session = requests.Session()

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"autopilotapikey": key or self.api_key, **kwargs.pop("headers", {})}
        return self.session.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def new_list(self, name: str) -> str:
        response = self.post("/list", json={"name": name})
        assert response.status_code == 200, response.text
        return str(response.json()["list_id"])

    def upsert(self, **contact: Any) -> str:
        response = self.post("/contact", json={"contact": contact})
        assert response.status_code == 200, response.text
        return str(response.json()["contact_id"])


def segment(value: str) -> str:
    """A path segment, percent-encoded like a careful client does (`/`, `+`, `@`, `%` included)."""
    return quote(value, safe="")


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox.base_url, sandbox.api_key)
    yield client
    client.session.close()
