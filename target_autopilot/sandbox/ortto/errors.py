"""Ortto's error answers: `{"request_id", "code", "error", "details"?}`, and the 429 body."""

from __future__ import annotations

import uuid


class OrttoError(Exception):
    """An error answer with Ortto's JSON shape."""

    def __init__(self, status: int, error: str, details: list[dict[str, object]] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, object] = {"request_id": str(uuid.uuid4()), "code": status, "error": error}
        if details is not None:
            self.body["details"] = details


def bad_request(error: str, details: list[dict[str, object]] | None = None) -> OrttoError:
    """A 400 answer."""
    return OrttoError(400, error, details)


def rate_limit_body(seconds: int, message: str = "rate limit") -> dict[str, object]:
    """The documented 429 body, whose `error` is an object (unlike every other error)."""
    return {"error": {"code": "rate-limit", "message": message, "try-in-seconds": seconds}}
