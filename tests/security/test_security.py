"""Security: the API key never leaks, plain http only on loopback, TLS always verified, the rejected file
(personal data) readable by its owner only.

Logs run at DEBUG through the SDK's own switch: singer-sdk 0.54 sets the root log level from the
environment variable `TARGET_AUTOPILOT_LOGLEVEL` (or `LOGLEVEL`) when the CLI starts (`_plugin_log_level`
in singer_sdk/plugin_base.py); there is no `--log-level` option. Each test checks DEBUG lines appear, so
a silently ignored switch cannot make the grep vacuous.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import ssl
import stat
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from target_autopilot.sandbox import SandboxControl
from tests.conftest import SandboxFactory
from tests.target.support import TARGET, Run, RunTarget, record, run_cli, schema, state, target_config

DEBUG = {"TARGET_AUTOPILOT_LOGLEVEL": "DEBUG"}


def secret_key() -> str:
    return f"ap-secret-{uuid.uuid4()}"


def people() -> list[dict[str, Any]]:
    return [
        schema("people", ["email", "first_name"]),
        record("people", email="ada@example.com", first_name="Ada"),
        record("people", email="not-an-email", first_name="Broken"),
        state({"bookmark": 2}),
    ]


def everything_written(run: Run) -> str:
    """stdout, stderr, the rejected file, the report and the sync log (its bytes): all the target writes."""
    files = [path.read_text() for path in (run.rejected_path, run.report_path) if path.exists()]
    log = run.config.get("sync_log_path")
    if log and Path(log).exists():
        files.append(Path(log).read_bytes().decode("latin-1"))
    return "\n".join([run.stdout, run.stderr, *files])


def assert_never_written(run: Run, *secrets: str) -> None:
    assert "DEBUG" in run.stderr, "the run did not log at DEBUG: the check below would prove little"
    assert "Traceback" not in run.stderr
    written = everything_written(run)
    for secret in secrets:
        random_part = secret.removeprefix("ap-secret-")
        # Not even in part: no 8 characters of it in a row (a log line cutting the key short still leaks it).
        leaked = {random_part[i : i + 8] for i in range(len(random_part) - 7)} & set(windows(written))
        assert not leaked, f"part of the key was written: {sorted(leaked)}"


def windows(text: str) -> Iterator[str]:
    """Every run of 8 characters in `text`."""
    return (text[i : i + 8] for i in range(len(text) - 7))


# Each scenario: start what it needs, run the target at DEBUG against one API, return the run and whether
# it should succeed.
Scenario = Callable[[SandboxFactory, Path, str, str, str], tuple[Run, bool]]


def api_config(sandbox: SandboxControl, api: str, **settings: Any) -> dict[str, Any]:
    return {**target_config(sandbox, **settings), "api": api}


def held(sandbox: SandboxControl, api: str) -> dict[str, list[str]]:
    """What the account holds per segment: Classic lists, or Ortto tags."""
    return sandbox.lists() if api == "classic" else sandbox.tags()


def exported(factory: SandboxFactory, workdir: Path, key: str, _other: str, api: str) -> tuple[Run, bool]:
    sandbox = factory(api_keys=(key,))
    run = run_cli(
        workdir, api_config(sandbox, api, sync_log_path=str(workdir / "log.sqlite")), people(), env=DEBUG
    )
    assert held(sandbox, api) == {"people": ["ada@example.com"]}  # the key was used, and worked
    return run, True


def wrong_key(factory: SandboxFactory, workdir: Path, key: str, other: str, api: str) -> tuple[Run, bool]:
    sandbox = factory(api_keys=(key,))
    config = {**api_config(sandbox, api, sync_log_path=str(workdir / "log.sqlite")), "api_key": other}
    return run_cli(workdir, config, people(), env=DEBUG), False


def server_down(factory: SandboxFactory, workdir: Path, key: str, _other: str, api: str) -> tuple[Run, bool]:
    sandbox = factory(api_keys=(key,))
    config = api_config(sandbox, api, retry_seconds=1)
    sandbox.stop()  # connection refused
    return run_cli(workdir, config, people(), env=DEBUG), False


def every_request_fails(
    factory: SandboxFactory, workdir: Path, key: str, _other: str, api: str
) -> tuple[Run, bool]:
    sandbox = factory(api_keys=(key,), fault_rate=1.0, fault_kinds=("503", "drop"))
    config = api_config(sandbox, api, retry_seconds=1, sync_log_path=str(workdir / "log.sqlite"))
    return run_cli(workdir, config, people(), env=DEBUG), False


def config_error(factory: SandboxFactory, workdir: Path, key: str, _other: str, api: str) -> tuple[Run, bool]:
    config = {"api": api, "api_key": key, "api_url": "http://api.example.com/v1", "segment_property": " "}
    return run_cli(workdir, config, people(), env=DEBUG), False


def bad_input(factory: SandboxFactory, workdir: Path, key: str, _other: str, api: str) -> tuple[Run, bool]:
    sandbox = factory(api_keys=(key,))
    return run_cli(workdir, api_config(sandbox, api), [*people(), "{not json"], env=DEBUG), False


def key_from_environment(
    factory: SandboxFactory, workdir: Path, key: str, _other: str, api: str
) -> tuple[Run, bool]:
    """`--config ENV`, as Meltano can pass settings: the key comes from TARGET_AUTOPILOT_API_KEY."""
    sandbox = factory(api_keys=(key,))
    rejected, report = workdir / "env-rejected.jsonl", workdir / "env-report.json"
    env = {
        **os.environ,
        **DEBUG,
        "TARGET_AUTOPILOT_API": api,
        "TARGET_AUTOPILOT_API_KEY": key,
        "TARGET_AUTOPILOT_API_URL": sandbox.base_url,
        "TARGET_AUTOPILOT_REJECTED_RECORDS_PATH": str(rejected),
        "TARGET_AUTOPILOT_REPORT_PATH": str(report),
    }
    lines = "".join(json.dumps(m) + "\n" for m in people())
    done = subprocess.run(
        [TARGET, "--config", "ENV"], input=lines, capture_output=True, text=True, env=env, check=False
    )
    assert held(sandbox, api) == {"people": ["ada@example.com"]}
    return Run(done.returncode, done.stdout, done.stderr, rejected, report), True


SCENARIOS: dict[str, Scenario] = {
    "exported": exported,
    "wrong key (401)": wrong_key,
    "server down": server_down,
    "every request fails": every_request_fails,
    "config error": config_error,
    "bad input": bad_input,
    "key from the environment": key_from_environment,
}


@pytest.mark.parametrize("api", ["classic", "ortto"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_api_key_is_never_written_at_debug_level(
    scenario: str, api: str, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    key, other = secret_key(), secret_key()

    run, succeeds = SCENARIOS[scenario](sandbox_factory, tmp_path, key, other, api)

    assert (run.code == 0) is succeeds, run.stderr
    assert_never_written(run, key, other)
    if not succeeds:
        assert run.states == []


def test_a_key_cut_short_in_a_log_line_is_caught(tmp_path: Path) -> None:
    key = secret_key()
    run = Run(0, "", f"DEBUG sending with key {key[:18]}...", tmp_path / "none.jsonl", tmp_path / "none.json")
    with pytest.raises(AssertionError, match="part of the key was written"):
        assert_never_written(run, key)


# --- plain http only to loopback ---


@pytest.mark.parametrize(
    "url",
    [
        "http://api2.autopilothq.com/v1",
        "http://10.0.0.5:8787/v1",
        "http://127.0.0.1.example.com/v1",  # a name that starts like a loopback address
        "http://localhost.example.com/v1",
        "http://[2001:db8::1]/v1",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused(url: str, run_target: RunTarget) -> None:
    key = secret_key()
    run = run_target({"api_key": key, "api_url": url}, people())

    assert run.code != 0
    assert "uses plain http:// to a non-loopback host" in run.stderr
    assert "Traceback" not in run.stderr
    assert key not in everything_written(run)


def test_plain_http_to_localhost_is_accepted(sandbox_factory: SandboxFactory, run_target: RunTarget) -> None:
    sandbox = sandbox_factory()
    config = {**target_config(sandbox), "api_url": sandbox.base_url.replace("127.0.0.1", "localhost")}
    run = run_target(config, people())

    assert run.code == 0, run.stderr
    assert sandbox.lists() == {"people": ["ada@example.com"]}


# --- TLS is always verified ---


class TlsServer:
    """An HTTPS server on loopback with a self-signed certificate; answers every request with a 401.

    Counts connection attempts (a failed TLS handshake is one) and keeps the headers of every
    HTTP request that got through.
    """

    def __init__(self, directory: Path) -> None:
        self.cert = directory / "cert.pem"
        key = directory / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(self.cert), "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.attempts = 0
        self.requests: list[dict[str, str]] = []
        self.echo_key = False
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(dict(self.headers))
                message = "Invalid API key"
                if server.echo_key:  # as some APIs do: the refused key quoted back
                    message += f" {self.headers.get('autopilotapikey')}"
                body = json.dumps({"error": "Unauthorized", "message": message}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                server.attempts += 1
                return super().get_request()

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    def __enter__(self) -> TlsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI to make a self-signed certificate")
    with TlsServer(tmp_path) as server:
        yield server


NO_VERIFY_TRICKS = {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "", "PYTHONHTTPSVERIFY": "0"}


@pytest.mark.parametrize("env", [{}, NO_VERIFY_TRICKS], ids=["plain", "verify-disabling env vars"])
def test_a_self_signed_certificate_is_refused_before_any_request(
    env: dict[str, str], tls_server: TlsServer, tmp_path: Path
) -> None:
    key = secret_key()
    config = {"api_key": key, "api_url": tls_server.url, "retry_seconds": 1}

    run = run_cli(tmp_path, config, people(), env={**DEBUG, **env})

    assert run.code != 0
    assert "SSLError" in run.stderr or "certificate" in run.stderr.lower(), run.stderr
    assert tls_server.attempts >= 1  # it did connect...
    assert tls_server.requests == []  # ...and sent nothing over the unverified connection
    assert run.states == []
    assert_never_written(run, key)


def test_the_same_server_is_reached_once_its_certificate_is_trusted(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    """The control for the test above: what failed there was the certificate check, nothing else."""
    key = secret_key()
    config = {"api_key": key, "api_url": tls_server.url, "retry_seconds": 1}

    run = run_cli(tmp_path, config, people(), env={**DEBUG, "REQUESTS_CA_BUNDLE": str(tls_server.cert)})

    assert run.code != 0
    assert "refused the API key (401" in run.stderr
    assert [request.get("autopilotapikey") for request in tls_server.requests] == [key]
    assert_never_written(run, key)


def test_a_certificate_failure_is_reported_as_such_and_not_retried(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    # With a minute of patience, any retry would reach the server again: one attempt means none.
    config = {"api_key": secret_key(), "api_url": tls_server.url, "retry_seconds": 60}

    run = run_cli(tmp_path, config, people())

    assert run.code != 0
    assert "certificate" in run.stderr.lower()
    assert tls_server.attempts == 1


def test_an_api_message_quoting_the_key_is_not_repeated(tls_server: TlsServer, tmp_path: Path) -> None:
    key = secret_key()
    tls_server.echo_key = True
    config = {"api_key": key, "api_url": tls_server.url, "retry_seconds": 1}

    run = run_cli(tmp_path, config, people(), env={**DEBUG, "REQUESTS_CA_BUNDLE": str(tls_server.cert)})

    assert run.code != 0
    assert "refused the API key (401" in run.stderr
    assert_never_written(run, key)


# --- the rejected file holds personal data: its owner only ---


@pytest.mark.parametrize(
    "existing_mode",
    [None, 0o644, 0o666],
    ids=["new file", "0644 file (kept aside)", "0666 file (kept aside)"],
)
@pytest.mark.parametrize("rejects", [True, False], ids=["with rejections", "without"])
def test_the_rejected_file_is_readable_by_its_owner_only(
    existing_mode: int | None, rejects: bool, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory()
    path = tmp_path / "out" / "rejected.jsonl"
    if existing_mode is not None:
        path.parent.mkdir()
        path.write_text('{"stale": true}\n')
        path.chmod(existing_mode)
    messages = people() if rejects else people()[:2]
    previous = os.umask(0)  # the most permissive umask: the mode must come from the target itself
    try:
        run = run_cli(tmp_path, target_config(sandbox, rejected_records_path=str(path)), messages)
    finally:
        os.umask(previous)

    assert run.code == 0, run.stderr
    written = sorted(path.parent.iterdir())
    assert [stat.S_IMODE(file.stat().st_mode) for file in written] == [0o600] * len(written)
    if not rejects:  # nothing to write: the run left no file, and an earlier one as it was
        assert path.exists() == (existing_mode is not None)
        return
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["record"]["email"] for line in lines] == ["not-an-email"]


@pytest.mark.parametrize("key", [987_654_321_123, ["ap-secret-in-a-list"]], ids=["number", "list"])
def test_an_api_key_of_the_wrong_type_is_not_echoed(key: Any, run_target: RunTarget) -> None:
    run = run_target({"api_key": key, "api_url": "http://127.0.0.1:9/v1"}, people())

    assert run.code != 0
    assert "api_key" in run.stderr
    assert str(key[0] if isinstance(key, list) else key) not in run.stderr
