"""The Classic API as a surface of the pipeline: `autopilotapikey`, its error bodies, its handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_autopilot.sandbox.classic.api import AutopilotApi, Call
from target_autopilot.sandbox.classic.errors import ApiError
from target_autopilot.sandbox.classic.store import Store
from target_autopilot.sandbox.config import SandboxConfig
from target_autopilot.sandbox.routing import Match
from target_autopilot.sandbox.surface import Answer, Surface

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

ALLOWED_METHODS = frozenset({"GET", "POST", "DELETE"})
FAULT_ANSWERS: dict[str, tuple[int, str]] = {
    "500": (500, "Internal Server Error"),
    "502": (502, "Bad Gateway"),
    "503": (503, "Service Unavailable"),
}


def error_answer(status: int, error: str, message: str) -> Answer:
    """An answer with the usual {"error", "message"} body."""
    return Answer(status, {"error": error, "message": message})


class ClassicSurface(Surface):
    """Autopilot Classic (api2.autopilothq.com/v1)."""

    name = "classic"
    key_header = "autopilotapikey"
    batch_stat = "bulk_sizes"

    def __init__(self, config: SandboxConfig, store: Store) -> None:
        super().__init__(config.api_keys)
        self.api = AutopilotApi(store)
        self.routes = self.api.routes

    def rate_limit(self, config: SandboxConfig) -> int:
        """`rate_limit`."""
        return config.rate_limit

    def missing_key(self) -> Answer:
        """400, as Autopilot answers."""
        return error_answer(400, "Bad Request", "No autopilotapikey header provided.")

    def wrong_key(self) -> Answer:
        """401."""
        return error_answer(401, "Unauthorized", "Provided autopilotapikey not valid.")

    def too_many(self, config: SandboxConfig) -> Answer:
        """429, with Retry-After when switched on."""
        answer = error_answer(
            429,
            "Too Many Requests",
            # An injected 429 with the limit off quotes Autopilot's documented rate.
            f"You have exceeded your request rate of {config.rate_limit or 5} r/s.",
        )
        if config.retry_after:
            answer.headers["Retry-After"] = "1"
        return answer

    def fault(self, kind: str) -> Answer:
        """A 5xx with the usual body."""
        status, error = FAULT_ANSWERS[kind]
        return error_answer(status, error, "Injected by the sandbox (fault injection).")

    def dispatch(self, request: Request, match: Match, account: str, config: SandboxConfig) -> Answer:
        """405, 404, or the handler's answer."""
        method = request.method
        allowed = match.route.methods if match.route else ALLOWED_METHODS
        if method not in allowed:
            return Answer(405, {"code": "MethodNotAllowedError", "message": f"{method} is not allowed"})
        if match.route is None:
            return Answer(404, {"code": "ResourceNotFound", "message": f"{request.path} does not exist"})
        call = Call(account, method, match.params, request.get_data(), config)
        try:
            status, body = self.api.handle(match.route, call)
        except ApiError as error:
            status, body = error.status, dict(error.body)
        return Answer(status, body, batch_size=call.bulk_size)
