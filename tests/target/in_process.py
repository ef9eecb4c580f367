"""`run_cli` inside the test process, for mutation testing (`make mutants`): same input, files and answers.

A mutation tool can only see which tests reach the code it mutates, and run them without a new
interpreter for each mutant, when the target runs in the tests' own process. The target still talks
real HTTP to the sandbox on loopback; only the process boundary goes. `pytest --target-in-process`
turns it on (tests/conftest.py); `make test` runs the CLI in a process of its own (tests/target/forked.py).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path

from target_autopilot.target import TargetAutopilot

enabled = False
subprocesses = False  # `pytest --target-subprocess`: the installed console script, not a forked child


def run(
    workdir: Path, config_path: Path, lines: str, env: Mapping[str, str], name: str
) -> tuple[int, str, str]:
    """Run the target's CLI here on `lines`: exit code, stdout and stderr, as the process would give."""
    input_path = workdir / f"{name}-input.jsonl"
    input_path.write_text(lines)
    output = io.BytesIO()  # the SDK writes STATE to stdout's buffer
    stdout = io.TextIOWrapper(output, encoding="utf-8")
    stderr = io.StringIO()
    with _process_like(workdir, env), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            TargetAutopilot.cli.main(
                ["--config", str(config_path), "--input", str(input_path)], standalone_mode=False
            )
            code = 0
        except SystemExit as exit_:
            code = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    stdout.flush()
    return code, output.getvalue().decode(), stderr.getvalue()


@contextlib.contextmanager
def _process_like(workdir: Path, env: Mapping[str, str]) -> Iterator[None]:
    """What a new process would have had: its own cwd, environment, log handlers and signal handlers."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    signals = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    saved_env = dict(os.environ)
    cwd = Path.cwd()
    os.environ.update(env)
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for number, handler in signals.items():
            signal.signal(number, handler)
        root.handlers[:] = handlers
        root.setLevel(level)
