"""The Python API for tests and benchmarks: run a sandbox in a thread, and drive its control API.

    with run_sandbox(rate_limit=0) as sandbox:
        requests.get(f"{sandbox.base_url}/lists", headers={"autopilotapikey": sandbox.api_key})
        assert sandbox.lists() == {}

`SandboxControl` talks to any running sandbox over HTTP (one started with the CLI, say);
`Sandbox` is a `SandboxControl` that also starts, stops and restarts its own server.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from target_autopilot.sandbox.app import SandboxApp
from target_autopilot.sandbox.config import SandboxConfig, account_id_for
from target_autopilot.sandbox.exposure import DEFAULT_API_KEY
from target_autopilot.sandbox.guard import TOKEN_HEADER
from target_autopilot.sandbox.serving import SandboxServer


class SandboxError(RuntimeError):
    """The control API refused a request (bad setting, unknown account, ...)."""


class SandboxControl:
    """A client of the control API (`/_sandbox/...`) of a sandbox at `url` (e.g. http://127.0.0.1:8787);
    `control_token` is the one the sandbox was started with, if any."""

    def __init__(self, url: str, api_key: str = DEFAULT_API_KEY, control_token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.control_token = control_token

    @property
    def base_url(self) -> str:
        """The Autopilot API base URL to give a client, e.g. http://127.0.0.1:8787/v1."""
        return f"{self.url}/v1"

    @property
    def account_id(self) -> str:
        """The id (and `instanceId`) of the account behind `api_key`, as stats and dumps name it."""
        return account_id_for(self.api_key)

    def reset(self) -> None:
        """Forget all data and statistics."""
        self._call("POST", "reset")

    def stats(self) -> dict[str, Any]:
        """Request statistics: see `GET /_sandbox/stats`."""
        return self._object("GET", "stats")

    def reset_stats(self) -> None:
        """Start the statistics from zero; the data stays."""
        self._call("POST", "stats/reset")

    def config(self) -> dict[str, Any]:
        """The settings in force."""
        return self._object("GET", "config")

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings at run time, e.g. `configure(fault_rate=0.1, rate_limit=0)`."""
        return self._object("POST", "config", changes)

    def create_custom_field(self, name: str, field_type: str, account: int = 0) -> None:
        """Pre-create a custom field (for `custom_fields="must-exist"` runs)."""
        self._call("POST", "custom_fields", {"name": name, "fieldType": field_type, "account": account})

    def dump(self) -> dict[str, Any]:
        """Every account's lists with member emails, contacts and custom fields."""
        return self._object("GET", "dump")

    def list_titles(self) -> list[str]:
        """The default account's list titles in creation order, duplicates included."""
        return [item["title"] for item in self._account()["lists"]]

    def lists(self) -> dict[str, list[str]]:
        """The default account's lists: title → sorted member emails. Titles must be unique."""
        found: dict[str, list[str]] = {}
        for item in self._account()["lists"]:
            if item["title"] in found:
                raise SandboxError(f"two lists are titled {item['title']!r}: use dump()")
            found[item["title"]] = sorted(item["members"])
        return found

    def contact(self, email: str) -> dict[str, Any] | None:
        """The default account's stored contact with this email (ignoring case), or None."""
        for contact in self._account()["contacts"]:
            if contact["Email"].lower() == email.lower():
                return dict(contact)
        return None

    # Ortto (today's Autopilot): the default account's people, tags and audiences.

    def people(self) -> list[dict[str, Any]]:
        """Every Ortto person of the default account: {"person_id", "fields", "tags", ...}."""
        return list(self._account()["ortto"]["people"])

    def person(self, email: str) -> dict[str, Any] | None:
        """The Ortto person whose `str::email` is this email (ignoring case), or None."""
        for person in self.people():
            if str(person["fields"].get("str::email", "")).lower() == email.lower():
                return dict(person)
        return None

    def tags(self) -> dict[str, list[str]]:
        """The default account's Ortto tags: name → sorted emails of the people holding it."""
        return {tag["name"]: sorted(tag["holders"]) for tag in self._account()["ortto"]["tags"]}

    def create_audience(self, name: str, tag: str, account: int = 0) -> str:
        """An Ortto audience whose members are the holders of `tag` (no public API creates one)."""
        body = {"name": name, "tag": tag, "account": account}
        return str(self._object("POST", "ortto/audiences", body)["audience_id"])

    def add_account_tag(self, name: str, count: int = 0, account: int = 0) -> int:
        """An Ortto account (organization) tag; its integer id is counted apart from person tags."""
        body = {"name": name, "count": count, "account": account}
        return int(self._object("POST", "ortto/account-tags", body)["tag_id"])

    def suppress(self, email: str, account: int = 0) -> None:
        """Put an email on the account's Ortto suppression list."""
        self._call("POST", "ortto/suppressed", {"email": email, "account": account})

    def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Poll until the sandbox answers (for one started as a subprocess)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.config()
            except (OSError, SandboxError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            else:
                return

    def _account(self) -> dict[str, Any]:
        """The default account's part of the dump."""
        for account in self.dump()["accounts"]:
            if account["account_id"] == self.account_id:
                return dict(account)
        raise SandboxError(f"the sandbox has no account for API key {self.api_key!r}")

    def _object(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        result = self._call(method, path, body)
        assert isinstance(result, dict)
        return result

    def _call(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the sandbox's, http by design
            f"{self.url}/_sandbox/{path}",
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                **({TOKEN_HEADER: self.control_token} if self.control_token else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise SandboxError(f"{method} /_sandbox/{path}: {error.read().decode()}") from None


class Sandbox(SandboxControl):
    """A sandbox server in a background thread of this process; a context manager.

    Port 0 in the config picks a free port; `restart()` keeps the port and the `--db` file.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.settings = config or SandboxConfig()
        keys = self.settings.api_keys + self.settings.ortto_keys
        super().__init__("", keys[0], self.settings.control_token)
        self._server: SandboxServer | None = None
        self._app: SandboxApp | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        """Start serving; returns self."""
        self._app = SandboxApp(self.settings)
        self._server = SandboxServer(self.settings.host, self.settings.port, self._app)
        self.url = f"http://{self.settings.host}:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"autopilot-sandbox-{self._server.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: no new connections; requests in flight are answered (for up to `timeout`
        seconds, after which their clients are disconnected); then the store is closed."""
        if self._server is None or self._app is None or self._thread is None:
            return
        self._server.stop(timeout)
        self._thread.join()
        self._app.state.close()
        self._server = self._app = self._thread = None

    def restart(self) -> None:
        """Stop and start again on the same port, with the settings in force (and the same db)."""
        if self._server is None or self._app is None:
            raise SandboxError("the sandbox is not running")
        self.settings = dataclasses.replace(self._app.state.config, port=self._server.port)
        self.stop()
        self.start()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_sandbox(**options: Any) -> Sandbox:
    """A `Sandbox` built from `SandboxConfig` keyword options; use it in a `with` statement."""
    return Sandbox(SandboxConfig(**options))


@contextmanager
def sandbox_process(*cli_options: str) -> Iterator[tuple[SandboxControl, subprocess.Popen[str]]]:
    """`autopilot-sandbox serve` with `cli_options` in a child process, on a free loopback port.

    Yields its control client and the process (whose CPU a benchmark may read); stops it after.
    A sandbox of its own keeps its work off the caller's interpreter lock.
    """
    command = [
        sys.executable, "-m", "target_autopilot.sandbox", "serve", "--host", "127.0.0.1", "--port", "0",
        *cli_options,
    ]  # fmt: skip
    # The command is this interpreter running this package: no outside input reaches it.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        found = re.search(r"API (http://\S+)/v1", process.stdout.readline())
        if found is None:
            raise SandboxError("the sandbox did not start")
        control = SandboxControl(found.group(1))
        control.wait_until_ready()
        yield control, process
    finally:
        process.terminate()
        process.wait(timeout=10)
