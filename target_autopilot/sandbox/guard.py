"""The control token's gate in front of `/_sandbox/`: the token as a header, or a login page's cookie."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from werkzeug.wrappers import Request, Response

from target_autopilot.sandbox.markup import esc, layout

TOKEN_HEADER = "X-Sandbox-Token"  # noqa: S105 - a header's name, not a secret
SESSION_COOKIE = "sandbox_session"
LOGIN_PATH = "login"
_HOME = "/_sandbox/"


class Guard:
    """Lets every control request through without a token; with one, only those that carry it."""

    def __init__(self, token: str | None) -> None:
        # The cookie holds a value derived from the token with a secret of this process, never the
        # token itself: a copied cookie dies with the process, and the token stays in nobody's browser.
        self._secrets: tuple[str, str] | None = None
        if token is not None:
            session = hmac.new(secrets.token_bytes(32), token.encode(), hashlib.sha256).hexdigest()
            self._secrets = (token, session)

    def refuse(self, request: Request, path: str) -> Response | None:
        """A 401 for a request to `/_sandbox/{path}` without the token; None when it may pass."""
        if self._secrets is None or path == LOGIN_PATH or self._carries_token(request, *self._secrets):
            return None
        if "text/html" in request.headers.get("Accept", ""):
            asked = request.environ.get("REQUEST_URI") or request.full_path.rstrip("?")
            return _login_page(str(asked), "", 401)
        body = {
            "error": "Unauthorized",
            "message": f"This sandbox's control API needs its control token: send it in the {TOKEN_HEADER} "
            f"header, or log in at {_HOME}{LOGIN_PATH} in a browser.",
        }
        return _unauthorized(Response(json.dumps(body), 401, mimetype="application/json"))

    def login(self, request: Request) -> Response:
        """GET: the login form. POST: the right token sets the session cookie and goes on to `next`."""
        target = _safe_next(request.values.get("next", _HOME))
        if request.method != "POST":
            return _login_page(target, "", 200)
        given = request.form.get("token", "")
        if self._secrets is None or not _same(given, self._secrets[0]):
            return _login_page(target, "That is not this sandbox's control token.", 401)
        response = Response("", 303, headers={"Location": target})
        response.set_cookie(SESSION_COOKIE, self._secrets[1], path=_HOME, httponly=True, samesite="Strict")
        return response

    @staticmethod
    def _carries_token(request: Request, token: str, session: str) -> bool:
        header = request.headers.get(TOKEN_HEADER)
        if header is not None:
            return _same(header, token)
        return _same(request.cookies.get(SESSION_COOKIE, ""), session)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _safe_next(target: str) -> str:
    """Only a page of this sandbox: no redirect elsewhere."""
    return target if target.startswith(_HOME) and "//" not in target and "\\" not in target else _HOME


def _unauthorized(response: Response) -> Response:
    response.headers["WWW-Authenticate"] = f'{TOKEN_HEADER} realm="autopilot-sandbox"'
    return response


def _login_page(target: str, problem: str, status: int) -> Response:
    form = (
        (f'<p class="problem">{esc(problem)}</p>' if problem else "")
        + "<p>This sandbox was started with a control token. Enter it to see its pages.</p>"
        f'<form method="post" action="{_HOME}{LOGIN_PATH}">'
        f'<input type="hidden" name="next" value="{esc(_safe_next(target))}">'
        '<label>Control token <input name="token" type="password" autocomplete="current-password"></label> '
        '<button type="submit">Log in</button></form>'
    )
    response = Response(layout("Log in", form), status, mimetype="text/html")
    return _unauthorized(response) if status == 401 else response
