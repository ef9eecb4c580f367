"""Error answers of the Autopilot API, raised by handlers and turned into JSON by the app."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer with the real API's JSON shape: {"error": ..., "message": ...}."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message}


def bad_request(message: str) -> ApiError:
    """A 400 answer."""
    return ApiError(400, "Bad Request", message)


def not_found(message: str) -> ApiError:
    """A 404 answer."""
    return ApiError(404, "Not Found", message)
