"""Serving the WSGI app over HTTP/1.1 with keep-alive, on werkzeug's threaded server.

werkzeug 3.1's request handler answers every request with `Connection: close` (its `run_wsgi`
hard-codes it), so a `requests.Session` could never reuse a connection and every request paid a
TCP handshake plus a drain wait. `KeepAliveHandler` replaces only `run_wsgi`: it reads the whole
request body before calling the app (so an unread body cannot corrupt the next request on the
connection), sends each answer in one write with a Content-Length, and keeps the connection
open. It also honours the app's "drop" marker by closing the socket without any answer.

The server tracks open connections so that `stop()` is orderly: it stops accepting, shuts the
reading side of every connection (an idle one ends at once; a request in flight is answered, with
`Connection: close`, and its connection ends after that), waits for those handlers, and only then
disconnects whatever is left.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from target_autopilot.sandbox.app import DROP_CONNECTION

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

MAX_BODY_BYTES = 32 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 60
SERVER_NAME = "autopilot-sandbox"
_SKIPPED_HEADERS = frozenset({"content-length", "connection", "transfer-encoding"})

log = logging.getLogger(__name__)


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler with persistent connections and single-write answers."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        self.server.untrack(self.connection)
        super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silent: a benchmark sends thousands of requests; the control API keeps the latest."""

    def log_error(self, format: str, *args: object) -> None:
        log.debug(format, *args)

    def run_wsgi(self) -> None:
        """Handle one request of the connection; the base class loops while the client stays."""
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        body = self._read_body(environ)
        if body is None:
            self.close_connection = True
            self._send("413 Content Too Large", [], b"")
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        status, headers, payload = self._call_app(environ)
        if environ.get(DROP_CONNECTION):
            self._drop()
            return
        if self.server.stopping:
            self.close_connection = True
        self._send(status, headers, payload)

    def _read_body(self, environ: WSGIEnvironment) -> bytes | None:
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug already wrapped the stream
            stream = environ["wsgi.input"]
            assert isinstance(stream, io.RawIOBase)
            data = stream.read(MAX_BODY_BYTES + 1) or b""
            return data if len(data) <= MAX_BODY_BYTES else None
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _call_app(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
        status_line = "500 Internal Server Error"
        response_headers: list[tuple[str, str]] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            nonlocal status_line, response_headers
            status_line, response_headers = status, headers
            return _unsupported_write

        result = self.server.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return status_line, response_headers, payload

    def _send(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        lines = [
            f"HTTP/1.1 {status}",
            f"Server: {SERVER_NAME}",
            f"Date: {_http_date()}",
            *(f"{key}: {value}" for key, value in headers if key.lower() not in _SKIPPED_HEADERS),
            f"Content-Length: {len(payload)}",
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + payload)

    def _drop(self) -> None:
        """Close the connection without a byte of answer, like a server dying mid-request."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


_last_date: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header's value, formatted once a second rather than once a request."""
    global _last_date  # noqa: PLW0603 - a cache; a race only formats the same second twice
    now = int(time.time())
    if _last_date[0] != now:
        _last_date = (now, email.utils.formatdate(now, usegmt=True))
    return _last_date[1]


def _unsupported_write(data: bytes) -> None:
    raise NotImplementedError("the sandbox app returns its body; it never calls write()")


class SandboxServer(ThreadedWSGIServer):
    """werkzeug's threaded server, remembering open connections so that stop() can end them."""

    def __init__(self, host: str, port: int, app: WSGIApplication) -> None:
        super().__init__(host, port, app, handler=KeepAliveHandler)
        self.stopping = False
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()

    def track(self, connection: socket.socket) -> None:
        """Remember an accepted connection (one accepted while stopping reads nothing more)."""
        with self._connections_changed:
            self._connections.add(connection)
            if self.stopping:
                _shutdown(connection, socket.SHUT_RD)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a connection its handler has finished with."""
        with self._connections_changed:
            self._connections.discard(connection)
            self._connections_changed.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting; let requests in flight be answered for up to `timeout` seconds while
        idle connections end; then disconnect every client that is left."""
        self.shutdown()
        self.server_close()
        with self._connections_changed:
            self.stopping = True
            for connection in self._connections:
                _shutdown(connection, socket.SHUT_RD)
            self._connections_changed.wait_for(lambda: not self._connections, timeout)
            for connection in self._connections:
                _shutdown(connection, socket.SHUT_RDWR)


def _shutdown(connection: socket.socket, how: int) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(how)
