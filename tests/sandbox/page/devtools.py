"""A headless Chromium driven over the DevTools protocol on a pipe: type into forms, click, follow.

`--dump-dom` (browser.py) reads one page; a login needs one browser that fills a form, keeps the
cookie it is given and goes on browsing. Chromium reads commands from fd 3 and writes answers
and events to fd 4, each a JSON object ended by a NUL byte.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from typing import Any

from .browser import FLAGS, Page

TIMEOUT = 30.0


class Browser:
    """One headless Chromium with one tab; a context manager."""

    def __init__(self, binary: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-", ignore_cleanup_errors=True)
        to_chromium, self._commands = os.pipe()
        self._answers, from_chromium = os.pipe()

        def give_pipes() -> None:  # in the child: its fds 3 and 4
            read, write = os.dup(to_chromium), os.dup(from_chromium)
            os.dup2(read, 3)
            os.dup2(write, 4)

        profile = f"--user-data-dir={self._profile.name}"
        profile = f"--user-data-dir={self._profile.name}"
        self._process = subprocess.Popen(
            [binary, *FLAGS, "--remote-debugging-pipe", profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=give_pipes,  # noqa: PLW1509 - only dup2 in the child
        )  # fmt: skip
        os.close(to_chromium)
        os.close(from_chromium)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self._send("Page.enable", session=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        os.write(self._commands, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        os.close(self._commands)
        os.close(self._answers)
        self._profile.cleanup()

    def open(self, url: str) -> Page:
        """Go to `url` like a typed address; the page once loaded."""
        self._events.clear()
        self._send("Page.navigate", {"url": url}, session=True)
        return self._loaded()

    def submit(self, fields: dict[str, str]) -> Page:
        """Type into the page's form fields by name, click its submit button; the page it leads to."""
        self._events.clear()
        typing = "".join(
            f"document.querySelector({json.dumps(f'[name={name}]')}).value = {json.dumps(value)};"
            for name, value in fields.items()
        )
        self.evaluate(typing + "document.querySelector('button[type=submit]').click(); true")
        return self._loaded()

    def status(self) -> int:
        """The HTTP status of the page shown."""
        return int(self.evaluate("performance.getEntriesByType('navigation')[0].responseStatus"))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self._send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        return result["result"].get("value")

    def _loaded(self) -> Page:
        self._wait_for("Page.loadEventFired")
        return Page(str(self.evaluate("document.documentElement.outerHTML")))

    def _send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                assert "error" not in answer, answer
                return answer["result"]
            self._events.append(answer)

    def _wait_for(self, event: str) -> None:
        while not any(message.get("method") == event for message in self._events):
            self._events.append(self._receive())

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._answers], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, "Chromium did not answer in time"
            chunk = os.read(self._answers, 1 << 16)
            assert chunk, "Chromium closed its pipe"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        found: dict[str, Any] = json.loads(message)
        return found
