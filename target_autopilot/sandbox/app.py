"""The WSGI application: the request pipeline in front of both APIs, Classic and Ortto.

Every API request goes: which API (its path, else its key header) → ban (Ortto) → API key →
rate limit (429) → latency → fault dice → handler → JSON answer, and is counted in the statistics.
Like a service's front door, the rate limit counts a request when it arrives and refuses it at once;
the latency is the time the service then takes. Paths under `/_sandbox/` go to the control API
instead and skip the whole pipeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request

from target_autopilot.sandbox.classic.store import StoreClosedError
from target_autopilot.sandbox.classic.surface import error_answer
from target_autopilot.sandbox.config import SandboxConfig
from target_autopilot.sandbox.control import ControlApi
from target_autopilot.sandbox.faults import Fault
from target_autopilot.sandbox.ortto.store import OrttoStoreClosedError
from target_autopilot.sandbox.routing import Match, find_route, raw_segments
from target_autopilot.sandbox.state import SandboxState
from target_autopilot.sandbox.stats import RequestRecord, timestamp
from target_autopilot.sandbox.surface import Answer, Surface

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# The serving layer (serving.py) closes the connection without an answer when this is set.
DROP_CONNECTION = "sandbox.drop_connection"

log = logging.getLogger(__name__)


class SandboxApp:
    """The WSGI entry point of one running server: the control API, or the API pipeline."""

    def __init__(self, config: SandboxConfig) -> None:
        self.state = SandboxState(config)
        self.control = ControlApi(self.state)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        segments = raw_segments(environ)
        request = Request(environ)
        try:
            if segments[0] == "_sandbox":
                return self.control.handle(request, segments[1:])(environ, start_response)
            if segments == ["favicon.ico"]:  # a browser on the pages asks; no API request
                return Answer(404, None).send(start_response)
            answer = self._api_request(request, segments)
        except (StoreClosedError, OrttoStoreClosedError):
            # A request that outlived stop()'s grace period: its client is already disconnected.
            answer = error_answer(503, "Service Unavailable", "The sandbox is stopping.")
        except Exception as error:
            log.exception("Sandbox error on %s %s", request.method, request.path)
            answer = error_answer(500, "Internal Server Error", f"Sandbox error: {error}")
        return answer.send(start_response)

    def _surface(self, request: Request, segments: list[str]) -> tuple[Surface, Match]:
        """Ortto for its paths, and for unknown paths asked with its key header alone."""
        match = find_route(self.state.ortto.routes, segments)
        headers = request.headers
        if match.route is not None or ("X-Api-Key" in headers and "autopilotapikey" not in headers):
            return self.state.ortto, match
        return self.state.classic, find_route(self.state.classic.routes, segments)

    def _api_request(self, request: Request, segments: list[str]) -> Answer:
        self.state.stats.started()
        try:
            return self._api_answer(request, segments)
        finally:
            self.state.stats.finished()

    def _api_answer(self, request: Request, segments: list[str]) -> Answer:
        started = time.perf_counter()
        config = self.state.config
        surface, match = self._surface(request, segments)
        client = request.remote_addr or ""
        key = request.headers.get(surface.key_header)
        account = None if key is None else surface.accounts.get(key)
        if account is not None:
            self.state.runs.note(
                account, surface.name, config.run_gap_seconds, lambda: self.state.members(account)
            )
        answer, fault = self._answer(surface, request, match, key, account, config, client)
        surface.answered(client, answer.status, config, time.monotonic())
        if answer.drop:
            request.environ[DROP_CONNECTION] = True
        if answer.batch_size is not None:
            self.state.stats.bulk(answer.batch_size, surface.batch_stat)
        self.state.stats.record(
            RequestRecord(
                at=timestamp(),
                account=account,
                method=request.method,
                path=request.environ.get("REQUEST_URI", request.path),
                template=match.template,
                status="drop" if answer.drop else str(answer.status),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                fault=fault.kind if fault else None,
                api=surface.name,
            )
        )
        return answer

    def _answer(
        self,
        surface: Surface,
        request: Request,
        match: Match,
        key: str | None,
        account: str | None,
        config: SandboxConfig,
        client: str,
    ) -> tuple[Answer, Fault | None]:
        banned = surface.refuse(client, config, time.monotonic())
        if banned is not None:
            return banned, None
        if key is None:
            return surface.missing_key(), None
        if account is None:
            return surface.wrong_key(), None
        limited = surface.limiter_key(account)
        in_window = self.state.limiter.admit(limited, surface.rate_limit(config), time.monotonic())
        if in_window is None:
            self.state.stats.rate_limited()
            return surface.too_many(config), None
        self.state.stats.admitted(limited, in_window)
        delay = self.state.chaos.delay_seconds(config)
        if delay:
            time.sleep(delay)
        fault = self.state.chaos.fault(config)
        if fault is not None:
            self.state.stats.fault(fault.kind, after_apply=fault.after_apply)
            if fault.after_apply:
                surface.dispatch(request, match, account, config)
            return self._fault_answer(surface, fault, config), fault
        return surface.dispatch(request, match, account, config), None

    def _fault_answer(self, surface: Surface, fault: Fault, config: SandboxConfig) -> Answer:
        if fault.kind == "drop":
            return Answer(500, None, drop=True)
        if fault.kind == "429":
            return surface.too_many(config)
        return surface.fault(fault.kind)
