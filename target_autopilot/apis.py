"""The one place that tells the two Autopilot APIs apart: defaults, headers, pacing, settings, appliers.

Everything else is the same for both: the plan is API-neutral, and each API's package turns it
into requests through the one rate-limited client built here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from target_autopilot.banledger import BanLedger
from target_autopilot.client import AutopilotClient
from target_autopilot.ratelimit import BadRequestBudget, RateLimiter

if TYPE_CHECKING:
    from target_autopilot.outcomes import Applier
    from target_autopilot.settings import Settings


def _classic() -> type[Applier]:
    from target_autopilot.classic.apply import Applier  # noqa: PLC0415 - the API package imports settings

    return Applier


def _ortto() -> type[Applier]:
    from target_autopilot.ortto.apply import OrttoApplier  # noqa: PLC0415 - the API package imports settings

    return OrttoApplier


def _ortto_field_name(key: str) -> str:
    from target_autopilot.ortto.fields import field_name  # noqa: PLC0415 - the API package imports settings

    return field_name(key)


@dataclass(frozen=True)
class Api:
    """What differs between the APIs, as data."""

    name: str
    url: str
    key_header: str
    requests_per_second: float
    applier: Callable[[], type[Applier]]
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
    field_name: Callable[[str], str] = str  # a mapped key (`date--Signup--Date`) as the API names it


CLASSIC = Api(
    name="classic",
    url="https://api2.autopilothq.com/v1",
    key_header="autopilotapikey",
    requests_per_second=5,
    applier=_classic,
    only={"list_assignment": "auto", "notify": None},
)
ORTTO = Api(
    name="ortto",
    url="https://api.ap3api.com/v1",
    key_header="X-Api-Key",
    requests_per_second=10,
    applier=_ortto,
    slow_down=0.8,
    ban_after=15,
    only={"ortto_region": "default"},
    group="tag",
    members="holders",
    added="tagged",
    present="already tagged",
    field_name=_ortto_field_name,
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


def api_of(settings: Settings) -> Api:
    return APIS[settings.api]


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


def client_for(settings: Settings) -> AutopilotClient:
    """The run's one client, with the API's header and pacing."""
    api = api_of(settings)
    return AutopilotClient(
        settings.api_url,
        settings.api_key,
        RateLimiter(settings.requests_per_second, slow_down=api.slow_down),
        retry_seconds=settings.retry_seconds,
        connections=workers_for(settings.requests_per_second),
        key_header=api.key_header,
        bad_requests=None
        if api.ban_after is None
        else BadRequestBudget(api.ban_after, ledger=BanLedger.for_url(settings.api_url)),
    )
