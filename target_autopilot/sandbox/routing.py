"""Path routing on the raw, still-encoded request path.

WSGI's PATH_INFO is already percent-decoded, so `/v1/contact/a%2Fb%40x.com` would look like four
segments there. The router splits the raw path (werkzeug's `REQUEST_URI`) on "/" first and decodes
each segment afterwards, so that segment is the email `a/b@x.com`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from werkzeug.wsgi import get_path_info


def raw_segments(environ: dict[str, object]) -> list[str]:
    """The request path as decoded segments, split before decoding: "/v1/a%2Fb" → ["v1", "a/b"]."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    # A server without a raw URI leaves only the decoded path, ambiguous for %2F.
    path = urlsplit(raw).path if isinstance(raw, str) else get_path_info(environ)
    segments = path.split("/")[1:]
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # a trailing slash names the same resource
    return [unquote(segment) for segment in segments]


@dataclass(frozen=True)
class Route:
    """A path template such as "/v1/list/{list_id}/contact/{contact}" and the methods it accepts."""

    template: str
    methods: frozenset[str]
    parts: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.template.split("/")[1:]))

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The template's parameters taken from the segments, or None when they do not fit."""
        if len(segments) != len(self.parts):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(self.parts, segments, strict=True):
            if part.startswith("{"):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


@dataclass(frozen=True)
class Match:
    """What routing found: the route (None for an unknown path) and its parameters."""

    route: Route | None
    params: dict[str, str]

    @property
    def template(self) -> str:
        """The path template for statistics; unknown paths are grouped as "<unknown>"."""
        return self.route.template if self.route else "<unknown>"


def find_route(routes: list[Route], segments: list[str]) -> Match:
    """The first route whose template fits (literal templates are listed before parameters)."""
    for route in routes:
        params = route.match(segments)
        if params is not None:
            return Match(route, params)
    return Match(None, {})
