"""Listening beyond loopback is a choice: it needs a control token and API keys of the user's own."""

from __future__ import annotations

import functools
import ipaddress
import socket

TOKEN_ENV = "AUTOPILOT_SANDBOX_CONTROL_TOKEN"  # noqa: S105 - a variable's name, not a secret
DEFAULT_API_KEY = "sandbox-key"


@functools.cache
def is_loopback(host: str) -> bool:
    """Whether every address `host` stands for is a loopback address ("" means every interface)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None)
    except OSError:
        return False  # the server could not listen there either; its own error says so
    return bool(found) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in found)


def check_exposure(host: str, control_token: str | None, api_keys: tuple[str, ...]) -> None:
    """Raise ValueError when `host` is reachable from other machines and the sandbox is not closed to them."""
    if control_token is not None and not control_token.strip():
        raise ValueError("control_token: must not be empty")
    if is_loopback(host):
        return
    if control_token is None:
        raise ValueError(
            f"host {host or '(every interface)'}: not a loopback address, so other machines could "
            "reach the control API (/_sandbox/: reset wipes every account, config switches faults "
            "on) and the pages listing every stored person. To expose the sandbox on purpose, give "
            f"a secret with --control-token TOKEN or the {TOKEN_ENV} environment variable (requests "
            "to /_sandbox/ must then carry it), and API keys of your own with --api-key. "
            "Otherwise listen on 127.0.0.1 (the default)."
        )
    if DEFAULT_API_KEY in api_keys:
        raise ValueError(
            f"api key {DEFAULT_API_KEY!r}: refused on a non-loopback address ({host or 'every interface'}), "
            "where anyone could guess it. Give keys of your own with --api-key KEY "
            "(and --ortto-api-key KEY)."
        )
