"""api_url checks: an http(s) URL, and plain http only to a loopback host (the local sandbox)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOOPBACK_NAMES = {"localhost"}


def url_problems(url: str, example: str) -> list[str]:
    """What is wrong with `url` as api_url: not http(s), or plain http to a host that is not loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return [f"api_url {url!r} is not an http(s) URL: use e.g. {example}."]
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return [
            f"api_url {url!r} uses plain http:// to a non-loopback host, which would send the API "
            "key and personal data unencrypted: use https://, or http:// only for 127.0.0.1, "
            "::1 or localhost."
        ]
    return []


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
