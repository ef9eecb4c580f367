"""The Ortto API as a surface of the pipeline: `X-Api-Key`, its error bodies, the ban, its handlers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from target_autopilot.sandbox.config import SandboxConfig
from target_autopilot.sandbox.ortto.api import OrttoApi, OrttoCall
from target_autopilot.sandbox.ortto.ban import BadRequestBan
from target_autopilot.sandbox.ortto.errors import OrttoError, rate_limit_body
from target_autopilot.sandbox.ortto.store import OrttoStore
from target_autopilot.sandbox.routing import Match, Route
from target_autopilot.sandbox.surface import Answer, Surface

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

FAULT_MESSAGES = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable"}


def error_answer(status: int, error: str) -> Answer:
    """An answer with Ortto's {"request_id", "code", "error"} body."""
    return Answer(status, OrttoError(status, error).body)


class OrttoSurface(Surface):
    """Ortto (api.ap3api.com/v1), today's Autopilot."""

    name = "ortto"
    key_header = "X-Api-Key"
    batch_stat = "merge_sizes"

    def __init__(self, config: SandboxConfig, store: OrttoStore) -> None:
        super().__init__(config.ortto_keys)
        self.api = OrttoApi(store, config.seed)
        self.ban = BadRequestBan()
        methods: dict[str, set[str]] = {}
        for template, method in self.api.routes:
            methods.setdefault(template, set()).add(method)
        self.routes = [Route(template, frozenset(allowed)) for template, allowed in methods.items()]

    def limiter_key(self, account: str) -> str:
        """Ortto's limit is per key, apart from the Classic one."""
        return f"ortto:{account}"

    def rate_limit(self, config: SandboxConfig) -> int:
        """`ortto_rate_limit`."""
        return config.ortto_rate_limit

    def refuse(self, client: str, config: SandboxConfig, now: float) -> Answer | None:
        """A banned client gets the 429 body with the seconds its ban has left."""
        if config.ortto_ban == "off":
            return None
        left = self.ban.seconds_left(client, now)
        if not left:
            return None
        return Answer(429, rate_limit_body(math.ceil(left), "too many bad requests: banned"))

    def answered(self, client: str, status: int, config: SandboxConfig, now: float) -> None:
        """Count 4xx answers other than 429 towards the ban."""
        if config.ortto_ban == "on" and 400 <= status < 500 and status != 429:
            self.ban.note_bad(client, now)

    def missing_key(self) -> Answer:
        """401."""
        return error_answer(401, "Unauthorized: no X-Api-Key header")

    def wrong_key(self) -> Answer:
        """401."""
        return error_answer(401, "Unauthorized: invalid API key")

    def too_many(self, config: SandboxConfig) -> Answer:
        """429 with `try-in-seconds` (the window is one second)."""
        return Answer(429, rate_limit_body(1))

    def fault(self, kind: str) -> Answer:
        """A 5xx with Ortto's error body."""
        return error_answer(int(kind), f"{FAULT_MESSAGES[kind]} (injected by the sandbox)")

    def dispatch(self, request: Request, match: Match, account: str, config: SandboxConfig) -> Answer:
        """404 "unknown endpoint", 405, or the handler's answer."""
        if match.route is None:
            return error_answer(404, "Unknown endpoint or method")
        handler = self.api.routes.get((match.route.template, request.method))
        if handler is None:
            return error_answer(405, f"Method {request.method} not allowed")
        if f"{request.method} {match.route.template}" in config.refuse:
            return error_answer(403, "Forbidden (refused by the sandbox's `refuse` setting)")
        call = OrttoCall(account, request.get_data(), config)
        try:
            status, body = handler(call)
        except OrttoError as error:
            status, body = error.status, error.body
        return Answer(status, body, batch_size=call.batch_size)
