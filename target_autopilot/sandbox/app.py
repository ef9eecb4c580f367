"""The WSGI application: the request pipeline in front of the Autopilot endpoints.

Every API request goes: API key (400/401) → rate limit (429) → latency → fault dice → handler →
JSON answer, and is counted in the statistics. Like a service's front door, the rate limit counts a
request when it arrives and refuses it at once; the latency is the time the service then takes.
Paths under `/_sandbox/` go to the control API instead and skip the whole pipeline.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from target_autopilot.sandbox.api import AutopilotApi, Body, Call
from target_autopilot.sandbox.config import SandboxConfig, account_id_for, with_changes
from target_autopilot.sandbox.control import ControlApi
from target_autopilot.sandbox.errors import ApiError
from target_autopilot.sandbox.faults import Chaos, Fault
from target_autopilot.sandbox.ratelimit import RateLimiter
from target_autopilot.sandbox.routing import Match, find_route, raw_segments
from target_autopilot.sandbox.stats import RequestRecord, Stats, timestamp
from target_autopilot.sandbox.store import Store, StoreClosedError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# The serving layer (serving.py) closes the connection without an answer when this is set.
DROP_CONNECTION = "sandbox.drop_connection"
ALLOWED_METHODS = frozenset({"GET", "POST", "DELETE"})
FAULT_ANSWERS: dict[str, tuple[int, str]] = {
    "500": (500, "Internal Server Error"),
    "502": (502, "Bad Gateway"),
    "503": (503, "Service Unavailable"),
}

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """What an API request gets back; `drop` means no answer at all, just a closed connection."""

    status: int
    body: Body
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    def send(self, start_response: StartResponse) -> list[bytes]:
        """Answer over WSGI: JSON, or an empty text body when the body is None (the headers are
        those a werkzeug `Response` would send; building one costs more than the request)."""
        if self.body is None:
            payload, content_type = b"", "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(self.body).encode(), "application/json"
        headers = [
            *self.headers.items(),
            ("Content-Type", content_type),
            ("Content-Length", str(len(payload))),
        ]
        start_response(_status_line(self.status), headers)
        return [payload]


@functools.cache
def _status_line(status: int) -> str:
    return f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"


def error_answer(status: int, error: str, message: str) -> Answer:
    """An answer with the usual {"error", "message"} body."""
    return Answer(status, {"error": error, "message": message})


class SandboxApp:
    """The sandbox's state and WSGI entry point; one instance per running server."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._config_lock = threading.Lock()
        self.accounts = {key: account_id_for(key) for key in config.api_keys}
        self.store = Store(config.db)
        self.api = AutopilotApi(self.store)
        self.limiter = RateLimiter()
        self.chaos = Chaos(config.seed)
        self.stats = Stats()
        self.control = ControlApi(self)

    @property
    def config(self) -> SandboxConfig:
        """The settings in force now."""
        return self._config

    def reconfigure(self, changes: Mapping[str, object]) -> SandboxConfig:
        """Change settings at run time (a new seed restarts the fault sequence)."""
        with self._config_lock:
            updated = with_changes(self._config, changes)
            if "seed" in changes:
                self.chaos.reseed(updated.seed)
            self._config = updated
            return updated

    def reset(self) -> None:
        """Forget all data, statistics and rate-limit windows; restart the fault sequence."""
        with self.store.transaction() as tx:
            tx.clear()
        self.stats.reset()
        self.limiter.reset()
        self.chaos.reseed(self.config.seed)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        segments = raw_segments(environ)
        request = Request(environ)
        try:
            if segments[0] == "_sandbox":
                return self.control.handle(request, segments[1:])(environ, start_response)
            answer = self._api_request(request, segments)
        except StoreClosedError:
            # A request that outlived stop()'s grace period: its client is already disconnected.
            answer = error_answer(503, "Service Unavailable", "The sandbox is stopping.")
        except Exception as error:
            log.exception("Sandbox error on %s %s", request.method, request.path)
            answer = error_answer(500, "Internal Server Error", f"Sandbox error: {error}")
        return answer.send(start_response)

    def _api_request(self, request: Request, segments: list[str]) -> Answer:
        started = time.perf_counter()
        config = self.config
        match = find_route(self.api.routes, segments)
        account = self.accounts.get(request.headers.get("autopilotapikey", ""))
        answer, fault = self._answer(request, match, account, config)
        if answer.drop:
            request.environ[DROP_CONNECTION] = True
        self.stats.record(
            RequestRecord(
                at=timestamp(),
                account=account,
                method=request.method,
                path=request.environ.get("REQUEST_URI", request.path),
                template=match.template,
                status="drop" if answer.drop else str(answer.status),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                fault=fault.kind if fault else None,
            )
        )
        return answer

    def _answer(
        self, request: Request, match: Match, account: str | None, config: SandboxConfig
    ) -> tuple[Answer, Fault | None]:
        if "autopilotapikey" not in request.headers:
            return error_answer(400, "Bad Request", "No autopilotapikey header provided."), None
        if account is None:
            return error_answer(401, "Unauthorized", "Provided autopilotapikey not valid."), None
        in_window = self.limiter.admit(account, config.rate_limit, time.monotonic())
        if in_window is None:
            self.stats.rate_limited()
            return self._too_many(config), None
        self.stats.admitted(account, in_window)
        delay = self.chaos.delay_seconds(config)
        if delay:
            time.sleep(delay)
        fault = self.chaos.fault(config)
        if fault is not None:
            self.stats.fault(fault.kind, after_apply=fault.after_apply)
            if fault.after_apply:
                self._dispatch(request, match, account, config)
            return self._fault_answer(fault, config), fault
        return self._dispatch(request, match, account, config), None

    def _dispatch(self, request: Request, match: Match, account: str, config: SandboxConfig) -> Answer:
        method = request.method
        allowed = match.route.methods if match.route else ALLOWED_METHODS
        if method not in allowed:
            return Answer(405, {"code": "MethodNotAllowedError", "message": f"{method} is not allowed"})
        if match.route is None:
            return Answer(404, {"code": "ResourceNotFound", "message": f"{request.path} does not exist"})
        if f"{method} {match.template}" in config.refuse:
            return error_answer(403, "Forbidden", "Refused by the sandbox (its `refuse` setting).")
        call = Call(account, method, match.params, request.get_data(), config)
        try:
            status, body = self.api.handle(match.route, call)
        except ApiError as error:
            status, body = error.status, dict(error.body)
        if call.bulk_size is not None:
            self.stats.bulk(call.bulk_size)
        return Answer(status, body)

    def _too_many(self, config: SandboxConfig) -> Answer:
        answer = error_answer(
            429,
            "Too Many Requests",
            # An injected 429 with the limit off quotes Autopilot's documented rate.
            f"You have exceeded your request rate of {config.rate_limit or 5} r/s.",
        )
        if config.retry_after:
            answer.headers["Retry-After"] = "1"
        return answer

    def _fault_answer(self, fault: Fault, config: SandboxConfig) -> Answer:
        if fault.kind == "drop":
            return Answer(500, None, drop=True)
        if fault.kind == "429":
            return self._too_many(config)
        status, error = FAULT_ANSWERS[fault.kind]
        return error_answer(status, error, "Injected by the sandbox (fault injection).")
