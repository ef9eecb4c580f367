"""The `autopilot-sandbox` command: `--help`, `serve` in a real process, and `show`."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from target_autopilot.sandbox import Sandbox, SandboxConfig, SandboxControl
from target_autopilot.sandbox.cli import main

from .conftest import Api


def option(field: str) -> str:
    return (
        "--" + field.replace("_", "-").removesuffix("s")
        if field.endswith("api_keys")
        else "--" + field.replace("_", "-")
    )


def test_help_documents_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for field in dataclasses.fields(SandboxConfig):
        assert option(field.name) in text
    assert "(default: 8787)" in text
    assert "(default: 5)" in text
    assert "(default: reject-batch)" in text
    assert "autopilot-sandbox show" in text


@pytest.fixture
def served() -> Iterator[SandboxControl]:
    command = [sys.executable, "-m", "target_autopilot.sandbox", "serve", "--port", "0", "--rate-limit", "2"]
    command += ["--api-key", "k1", "--api-key", "k2", "--bulk-list-assignment", "off"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        found = re.search(r"API (http://\S+)/v1", process.stdout.readline())
        assert found, "no start-up line"
        control = SandboxControl(found.group(1), api_key="k2")
        control.wait_until_ready()
        yield control
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_runs_a_sandbox_with_the_given_options(served: SandboxControl) -> None:
    config = served.config()
    assert (config["rate_limit"], config["bulk_list_assignment"], config["accounts"]) == (2, "off", 2)
    api = Api(served.base_url, "k2")
    assert [api.get("/lists").status_code for _ in range(3)] == [200, 200, 429]
    assert api.get("/lists", key="sandbox-key").status_code == 401


def test_show_prints_lists_and_member_counts(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    api = Api(sandbox.base_url, sandbox.api_key)
    list_id = api.new_list("Weekly")
    api.post(
        "/contacts",
        json={"contacts": [{"Email": f"p{i}@example.com", "_autopilot_list": list_id} for i in range(3)]},
    )
    assert main(["show", "--url", sandbox.url]) == 0
    out = capsys.readouterr().out
    assert "3 contacts, 1 lists" in out
    assert re.search(r"Weekly\s+3 members", out)


def test_show_into_a_pipe_its_reader_closed_ends_quietly(sandbox: Sandbox) -> None:
    """`autopilot-sandbox show | head`: head leaves after its lines; show must not print a traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before show writes anything
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("autopilot-sandbox")), "show", "--url", sandbox.url],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 0
    assert done.stderr == ""


def test_show_without_a_sandbox_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--url", "http://127.0.0.1:9"]) == 1
    assert "no sandbox at" in capsys.readouterr().err


def test_serve_refuses_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fault-rate", "3"]) == 2
    assert "fault_rate" in capsys.readouterr().err


def test_the_console_script_runs() -> None:
    script = Path(sys.executable).with_name("autopilot-sandbox")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "--fault-after-apply" in done.stdout


def test_without_the_sandbox_extra_the_command_says_how_to_install_it(tmp_path: Path) -> None:
    # werkzeug made unimportable, as in an install without the `sandbox` extra.
    (tmp_path / "werkzeug.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'werkzeug'\", name='werkzeug')\n"
    )
    command = Path(sys.executable).with_name("autopilot-sandbox")
    done = subprocess.run(
        [str(command), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "pip install 'target-autopilot[sandbox]'" in done.stderr
    assert "no module 'werkzeug'" in done.stderr
