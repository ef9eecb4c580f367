"""What differs between the two Autopilot APIs, as data: defaults, headers, pacing, settings.

Everything else is the same for both: the plan is API-neutral, and each API's package turns it
into requests through the one rate-limited client. This module sits low (settings use it), so it
names no API package: the export picks each API's applier.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Api:
    """What differs between the APIs, as data."""

    name: str
    url: str
    key_header: str
    requests_per_second: float
    slow_down: float = 1.0  # the rate is multiplied by this after each 429 (1: kept)
    ban_after: int | None = None  # bad requests in 15 s that earn a ban (None: no such limiter)
    only: Mapping[str, Any] = field(default_factory=dict)  # settings of this API alone → their default
    refused_fields: Mapping[str, str] = field(default_factory=dict)  # field_mapping keys → why not
    # The API's own words in logs and reports: what a segment becomes, the people in one, and the
    # summary's "N added, M already present".
    group: str = "list"
    members: str = "members"
    added: str = "memberships added"
    present: str = "already present"


CLASSIC = Api(
    name="classic",
    url="https://api2.autopilothq.com/v1",
    key_header="autopilotapikey",
    requests_per_second=5,
    only={"list_assignment": "auto", "notify": None},
)
ORTTO = Api(
    name="ortto",
    url="https://api.ap3api.com/v1",
    key_header="X-Api-Key",
    requests_per_second=10,
    slow_down=0.8,
    ban_after=15,
    only={"ortto_region": "default"},
    group="tag",
    members="holders",
    added="tagged",
    present="already tagged",
    refused_fields={
        "unsubscribed": "the Ortto path never sends consent (bol::p), so an export cannot change anyone's "
        "subscription: remove it from field_mapping"
    },
)
APIS = {api.name: api for api in (CLASSIC, ORTTO)}
# Ortto serves Australian and European instances from their own hosts (its API reference pages).
ORTTO_REGIONS = {
    "default": ORTTO.url,
    "au": "https://api.au.ap3api.com/v1",
    "eu": "https://api.eu.ap3api.com/v1",
}


def default_url(api: Api, config: Mapping[str, Any]) -> str:
    """The API's host when `api_url` is not set: for Ortto, the one of `ortto_region`."""
    if api is ORTTO:
        return ORTTO_REGIONS.get(str(config.get("ortto_region") or "default"), ORTTO.url)
    return api.url


def setting_problems(config: Mapping[str, Any], api_name: str) -> list[str]:
    """Settings of the other API set to something other than their default, each as a sentence."""
    found = []
    for other in APIS.values():
        if other.name == api_name:
            continue
        for name, default in other.only.items():
            value = config.get(name)
            if value is not None and value != default:
                found.append(
                    f"{name} is a setting of api: {other.name} only, but api is {api_name}: remove it "
                    f"(or set api: {other.name})."
                )
    own = APIS[api_name]
    for key in config.get("field_mapping") or {}:
        if key in own.refused_fields:
            found.append(f"field_mapping.{key}: {own.refused_fields[key]}.")
    return found


def workers_for(requests_per_second: float) -> int:
    """Requests in flight at once: enough to keep the rate up through ~0.5 s of latency."""
    return min(32, max(4, math.ceil(requests_per_second / 2)))
