"""`ortto`: raw HTTP to the Ortto API of one sandbox shared by the module, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from target_autopilot.sandbox import Sandbox, run_sandbox


class Ortto:
    """Raw HTTP to the sandbox's Ortto API: `ortto.post("/person/merge", json=...)`, with X-Api-Key."""

    def __init__(self, sandbox: Sandbox, api_key: str | None = None) -> None:
        self.sandbox = sandbox
        self.base_url = sandbox.base_url
        self.api_key = api_key or sandbox.api_key
        self.session = requests.Session()

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"X-Api-Key": key or self.api_key, **kwargs.pop("headers", {})}
        return self.session.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def merge(self, *people: dict[str, Any], **options: Any) -> requests.Response:
        return self.post("/person/merge", json={"people": list(people), **options})

    def merged(self, *people: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
        response = self.merge(*people, **options)
        assert response.status_code == 200, response.text
        return list(response.json()["people"])

    def field(self, name: str, kind: str, **extra: Any) -> str:
        response = self.post("/person/custom-field/create", json={"name": name, "type": kind, **extra})
        assert response.status_code == 200, response.text
        return str(response.json()["field_id"])

    def get(self, **body: Any) -> dict[str, Any]:
        response = self.post("/person/get", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def emails(self, **body: Any) -> list[str]:
        return [person["fields"]["str::email"] for person in self.get(**body)["contacts"] or []]


def person(email: str, *, tags: Any = None, **fields: Any) -> dict[str, Any]:
    """A merge item: `person("a@x.io", tags=["T"], **{"str::first": "A"})`."""
    item: dict[str, Any] = {"fields": {"str::email": email, **fields}}
    if tags is not None:
        item["tags"] = tags
    return item


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    """One sandbox per test module (limits and ban off; tests switch them on as they need)."""
    with run_sandbox(rate_limit=0, ortto_rate_limit=0, ortto_ban="off", seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def ortto(shared_sandbox: Sandbox) -> Iterator[Ortto]:
    """A client of the shared sandbox, emptied and set back to its settings before the test."""
    shared_sandbox.reset()
    defaults = {"ortto_rate_limit": 0, "ortto_ban": "off", "ortto_mixed_batch": "per-person"}
    shared_sandbox.configure(
        **defaults, ortto_people_order="request", ortto_tag_filter="u4s-is", ortto_async="queued",
        fault_rate=0.0, seed=7, ortto_field_limit=100, ortto_async_delay_ms=200.0,
        ortto_default_async="sync", ortto_default_merge_by="str::email",
    )  # fmt: skip
    client = Ortto(shared_sandbox)
    yield client
    client.session.close()
