"""The Autopilot HTTP client: one session, one rate limiter, bounded retries, counted requests.

Every request of a run goes through `AutopilotClient.call`, from any number of threads.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import backoff
import msgspec
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from target_autopilot.errors import ApiUnavailable, AuthError, CertificateError
from target_autopilot.ratelimit import BadRequestBudget, RateLimiter

logger = logging.getLogger("target_autopilot.client")

RETRY_STATUSES = frozenset({500, 502, 503, 504})
NOTICE_EVERY = 10.0  # seconds between two log lines about failures being retried
DEFAULT_RETRY_AFTER = 1.0  # Autopilot counts requests per second; one window is enough to wait.
# While nothing has answered, a refused connection or an unknown host is most likely a wrong api_url (or
# the API is not running): retried this long, not retry_seconds. With the backoff's waits (at most 0.5,
# 1, 2, 4, 8 s) the run ends at most about 15 s after the first failure.
UNREACHABLE_SECONDS = 7.5


@dataclass(frozen=True)
class Answer:
    """A final answer from Autopilot: its status and JSON body (a dict; `{}` when there was none)."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The API's own words (`message`, else `error` or `code`)."""
        for key in ("message", "error", "code"):
            if isinstance(self.body.get(key), str):
                return str(self.body[key])
        return f"HTTP {self.status}"


class RequestFailed(Exception):
    """A request that failed in a way worth retrying (5xx, timeout, dropped connection).

    Raised to the caller only for requests sent with `idempotent=False`: whether such a request
    took effect is unknown, so the caller must look before it sends it again.
    """


class Stopped(Exception):
    """The run is stopping: no new request is sent."""


class _Transient(RequestFailed):
    """A failure the client retries by itself after a backoff; `unreachable`: refused or unresolvable
    before anything answered."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _Throttled(Exception):
    """A 429; `wait` is how long to hold off before the retry."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"429 Too Many Requests (waiting {wait:g} s)")
        self.wait = wait


class RetryNotice:
    """Says that requests are failing and being retried: the first failure at once, then at most one
    line every `NOTICE_EVERY` seconds (a `backoff` on_backoff handler, called from any thread)."""

    def __init__(self, retry_seconds: float) -> None:
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._last: float | None = None
        self._unreported = 0

    def __call__(self, details: Any) -> None:
        label, failure = details["args"][3], details["exception"]
        with self._lock:
            now = time.monotonic()
            self._unreported += 1
            if self._last is not None and now - self._last < NOTICE_EVERY:
                return
            first, failures = self._last is None, self._unreported
            since = 0.0 if self._last is None else now - self._last
            self._last, self._unreported = now, 0
        if first and getattr(failure, "unreachable", False):
            logger.warning(
                "%s failed (%s): nothing has answered yet, retrying for about 15 s before giving up",
                label,
                failure,
            )
        elif first:
            logger.warning(
                "%s failed (%s): retrying it for up to %g s (retry_seconds) before giving up",
                label,
                failure,
                self.retry_seconds,
            )
        else:
            logger.warning(
                "Still retrying: %d more failures in the last %.0f s, latest %s failed (%s) after %.0f s "
                "of up to %g s",
                failures,
                since,
                label,
                failure,
                details["elapsed"],
                self.retry_seconds,
            )


class RequestCounts:
    """What the client sent and how it went, safe to update from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.throttled = 0
        self.server_errors = 0
        self.connection_errors = 0
        self.given_up = 0
        self.by_endpoint: Counter[str] = Counter()

    @property
    def answered(self) -> int:
        """Requests that got an HTTP answer (attempts that could not connect or timed out excluded)."""
        return self.requests - self.connection_errors

    @property
    def retries(self) -> int:
        """Requests sent again after a 429, a 5xx or a connection failure."""
        return self.throttled + self.server_errors + self.connection_errors - self.given_up

    def count(self, endpoint: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1

    def failed(self, kind: str) -> None:
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)


class AutopilotClient:
    """Sends requests to the Autopilot API under one limiter, retrying what is safe to retry."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        limiter: RateLimiter,
        *,
        retry_seconds: float = 120.0,
        timeout: tuple[float, float] = (5.0, 60.0),
        connections: int = 16,
        key_header: str = "autopilotapikey",
        bad_requests: BadRequestBudget | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.bad_requests = bad_requests
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.counts = RequestCounts()
        self._api_key = api_key
        self._stopped = threading.Event()
        self._unreachable_since: float | None = None
        self._session = requests.Session()
        self._environment: dict[str, Any] | None = None  # merge_environment_settings, once
        self._session.headers.update(
            {
                key_header: api_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
        )
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        # Two layers: 429s wait as told (Retry-After, else one rate window); failures back off
        # exponentially with full jitter. Each is bounded by `retry_seconds` per request.
        throttled = backoff.on_exception(
            backoff.runtime,
            _Throttled,
            value=lambda exc: exc.wait,
            max_time=retry_seconds,
            jitter=None,
            logger=None,
        )(self._send)
        self._send_once = throttled
        self._send_retrying = backoff.on_exception(
            backoff.expo,
            _Transient,
            factor=0.5,
            max_value=15,
            max_time=retry_seconds,
            jitter=backoff.full_jitter,
            logger=None,
            giveup=self._unreachable_too_long,
            on_backoff=RetryNotice(retry_seconds),
        )(throttled)

    def call(
        self,
        method: str,
        *segments: str,
        body: Any = None,
        endpoint: str = "",
        idempotent: bool = True,
    ) -> Answer:
        """Send `method` to the path made of `segments` (each URL-encoded); return the final answer.

        Raises AuthError on 401 and ApiUnavailable once retries are used up. Other 4xx answers are
        returned for the caller to judge. `endpoint` names the path template in counts and errors.
        A request that is not `idempotent` is retried only after a 429 (Autopilot did not run it);
        after any other failure it raises RequestFailed for the caller to check and resend.
        """
        url = "/".join([self.base_url, *(quote(segment, safe="") for segment in segments)])
        label = f"{method} {endpoint or '/' + '/'.join(segments)}"
        send = self._send_retrying if idempotent else self._send_once
        started = time.monotonic()
        try:
            answer: Answer = send(method, url, body, label)
        except _Transient as exc:
            if exc.unreachable and self._unreachable_since is not None:
                raise self._unreachable(exc) from None
            if not idempotent:
                raise RequestFailed(str(exc)) from None
            raise self._unavailable(label, started, exc) from None
        except _Throttled as exc:
            raise self._unavailable(label, started, exc) from None
        if answer.status == 401:
            raise AuthError(
                f"Autopilot refused the API key (401 on {label}: {answer.message}). "
                "Check the api_key setting (TARGET_AUTOPILOT_API_KEY); for Ortto, also that "
                "ortto_region (or api_url) is your instance's region: a key works only there."
            )
        return answer

    def _unavailable(self, label: str, started: float, exc: Exception) -> ApiUnavailable:
        self.counts.failed("given_up")
        return ApiUnavailable(
            f"Autopilot did not accept {label} after retrying for "
            f"{time.monotonic() - started:.0f} s (last failure: {exc}). The export stopped and "
            "no STATE was written: run it again once Autopilot answers; profiles already sent "
            "are updated in place, not duplicated."
        )

    def _unreachable_too_long(self, exc: Exception) -> bool:
        """Give up on a refused or unresolvable API that has never answered after UNREACHABLE_SECONDS."""
        if not getattr(exc, "unreachable", False) or self._unreachable_since is None:
            return False
        return time.monotonic() - self._unreachable_since >= min(UNREACHABLE_SECONDS, self.retry_seconds)

    def _unreachable(self, exc: _Transient) -> ApiUnavailable:
        self.counts.failed("given_up")
        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return ApiUnavailable(
            f"Nothing answers at {parts.hostname} port {port} ({exc}): no request has been answered "
            f"in the {time.monotonic() - (self._unreachable_since or 0):.0f} s since the first attempt. "
            "Check api_url (a mistyped host, or nothing listening on that port, e.g. the sandbox not "
            "started). Nothing was sent and no STATE was written."
        )

    def stop(self) -> None:
        """Send no further request (those in flight still finish)."""
        self._stopped.set()

    def _send(self, method: str, url: str, body: Any, label: str) -> Answer:
        self.limiter.acquire()
        if self._stopped.is_set():
            raise Stopped(f"{label} not sent: the run is stopping")
        self.counts.count(label)
        if self.bad_requests is None:
            return self._answer(method, url, body, label)
        self.bad_requests.acquire()
        status = 0
        try:
            answer = self._answer(method, url, body, label)
            status = answer.status
        finally:
            self.bad_requests.release(400 <= status < 500 and status != 429)  # a 429 is pacing, not bad
        return answer

    def _answer(self, method: str, url: str, body: Any, label: str) -> Answer:
        try:
            # Session.request's own steps, but the proxy and CA-bundle settings of the environment
            # are worked out once (a third of requests' time per call went to them): every URL
            # of this client has the same scheme and host, which is all they depend on.
            request = requests.Request(method.upper(), url, data=_encode(body) or {}, params={})
            prepared = self._session.prepare_request(request)
            if self._environment is None:
                self._environment = dict(self._session.merge_environment_settings(url, {}, None, None, None))
            response = self._session.send(
                prepared, timeout=self.timeout, allow_redirects=True, **self._environment
            )
        except requests.exceptions.SSLError as exc:
            raise CertificateError(
                f"The TLS certificate of {self.base_url} could not be verified ({_reason(exc)}). "
                "Check api_url; behind a proxy that intercepts TLS, point REQUESTS_CA_BUNDLE at its "
                "CA bundle. Verification is never turned off."
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.counts.failed("connection_errors")
            logger.debug("%s: %s, retrying", label, type(exc).__name__)
            unreachable = self.counts.answered == 0 and _refused_or_unknown(exc)
            if unreachable and self._unreachable_since is None:
                self._unreachable_since = time.monotonic()
            raise _Transient(f"{type(exc).__name__}{_errno(exc)}", unreachable=unreachable) from None
        if response.status_code == 429:
            self.counts.failed("throttled")
            wait = _retry_after(response.headers.get("Retry-After"), _try_in_seconds(response))
            self.limiter.pause(wait)
            logger.debug("%s: 429, holding all requests for %g s", label, wait)
            raise _Throttled(wait)
        if response.status_code in RETRY_STATUSES:
            self.counts.failed("server_errors")
            logger.debug("%s: %d, retrying", label, response.status_code)
            raise _Transient(f"HTTP {response.status_code}")
        return Answer(response.status_code, _json_body(response, self._api_key))

    def close(self) -> None:
        self._session.close()


def _encode(body: Any) -> bytes | None:
    """The request body as JSON; `bytes` are taken as JSON already encoded.

    msgspec encodes a bulk of 100 contacts about ten times faster than requests' `json=`.
    """
    if body is None or isinstance(body, bytes):
        return body
    return _ENCODER.encode(body)


_ENCODER = msgspec.json.Encoder()
_DECODE = msgspec.json.Decoder().decode


def _json_body(response: requests.Response, api_key: str) -> dict[str, Any]:
    if not response.content:
        return {}
    # An answer that quotes the key back (some servers echo a refused one) must not carry it
    # into messages, logs or the rejected file.
    text = response.text.replace(api_key, "***")
    try:
        parsed = _DECODE(text)  # a page of 100 contacts: about three times faster than json.loads
    except msgspec.MsgspecError:
        try:  # what msgspec does not take (NaN, 1e400, a lone surrogate) is read as json reads it
            parsed = json.loads(text)
        except ValueError:
            return {"message": text[:300]}
    return parsed if isinstance(parsed, dict) else {"items": parsed}


def _reason(exc: Exception) -> str:
    """The innermost reason of a requests error, e.g. 'certificate verify failed: self-signed ...'."""
    text = str(exc)
    start = text.rfind("SSLError(")
    return text[start:][:200] if start >= 0 else text[:200]


def _refused_or_unknown(exc: requests.RequestException) -> bool:
    """The connection was refused or the host name did not resolve (not a timeout)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError) and not isinstance(exc, requests.Timeout)


def _errno(exc: Exception) -> str:
    """`: [Errno 111] Connection refused` from a requests error, or nothing."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return f": {found.group(0)}" if found else ""


def _try_in_seconds(response: requests.Response) -> float | None:
    """Ortto's 429 body: `{"error": {"try-in-seconds": 10, ...}}`."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    seconds = error.get("try-in-seconds") if isinstance(error, dict) else None
    return float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None


def _retry_after(header: str | None, told: float | None = None) -> float:
    if not header:
        return DEFAULT_RETRY_AFTER if told is None else min(max(told, 0.0), 300.0)
    try:
        seconds = float(header)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(header).timestamp() - time.time()
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), 300.0)
