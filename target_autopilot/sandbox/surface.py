"""What the shared request pipeline needs from each API it serves: routes, keys, error answers, handlers."""

from __future__ import annotations

import functools
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from werkzeug.http import HTTP_STATUS_CODES

from target_autopilot.sandbox.config import SandboxConfig, account_id_for
from target_autopilot.sandbox.routing import Match, Route

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from werkzeug.wrappers import Request

Body = object


@dataclass
class Answer:
    """What an API request gets back; `drop` means no answer at all, just a closed connection."""

    status: int
    body: Body
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    batch_size: int | None = None

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


class Surface(ABC):
    """One API (Classic or Ortto) as the pipeline sees it; its accounts come from its own keys."""

    name: str
    key_header: str
    batch_stat: str
    routes: list[Route]

    def __init__(self, api_keys: tuple[str, ...]) -> None:
        self.accounts = {key: account_id_for(key) for key in api_keys}

    def limiter_key(self, account: str) -> str:
        """The rate limiter's (and the peak-rate statistic's) name for the account."""
        return account

    @abstractmethod
    def rate_limit(self, config: SandboxConfig) -> int:
        """Requests per second admitted per account (0: off)."""

    def refuse(self, client: str, config: SandboxConfig, now: float) -> Answer | None:
        """An answer for a client refused before anything else (a ban), or None."""
        return None

    def answered(self, client: str, status: int, config: SandboxConfig, now: float) -> None:  # noqa: B027
        """Note the status a client got (for the bad-request limiter); most APIs have none."""

    @abstractmethod
    def missing_key(self) -> Answer:
        """No key header."""

    @abstractmethod
    def wrong_key(self) -> Answer:
        """A key this API does not know."""

    @abstractmethod
    def too_many(self, config: SandboxConfig) -> Answer:
        """Over the rate limit (or an injected 429)."""

    @abstractmethod
    def fault(self, kind: str) -> Answer:
        """An injected 5xx answer."""

    @abstractmethod
    def dispatch(self, request: Request, match: Match, account: str, config: SandboxConfig) -> Answer:
        """Run the endpoint (405 and 404 included) and answer."""
