"""`run_cli` in a child forked from the test process: the target's own process without its start-up.

Starting `target-autopilot` costs about 0.4 s of CPU, nearly all of it importing singer-sdk, and the
suite starts it some 700 times. A child forked from the test worker, which has imported the target
already, is still a process of its own: its own pid (so its own run id), working directory,
environment, file descriptors 0-2 (the input file, and files for stdout and stderr), default signal
handlers, no log handlers, the interpreter's warning filters, and an exit code (a traceback and 1 for
an uncaught exception, as Python gives). It runs the CLI's entry point as the console script does.
`pytest --target-subprocess` runs the installed console script instead.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path

from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader

from target_autopilot.target import TargetAutopilot

_FILTERS = list(warnings.filters)  # the interpreter's, before pytest adds its own per test
_PROGRAM = "target-autopilot"


def run(
    workdir: Path, config_path: Path, lines: str, env: Mapping[str, str], name: str, timeout: float
) -> tuple[int, str, str]:
    """Run the target's CLI in a forked child on `lines`: exit code, stdout and stderr."""
    paths = [workdir / f"{name}-{stream}" for stream in ("input.jsonl", "stdout", "stderr")]
    paths[0].write_text(lines)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            code = _child(workdir, config_path, env, paths)
        finally:
            os._exit(code)
    code = _wait(pid, timeout)
    return code, paths[1].read_text(), paths[2].read_text()


def _child(workdir: Path, config_path: Path, env: Mapping[str, str], paths: list[Path]) -> int:
    write = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for fd, (path, flags) in enumerate(zip(paths, (os.O_RDONLY, write, write), strict=True)):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own streams
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.argv = [_PROGRAM, "--config", str(config_path)]
    for reader in (SimpleSingerReader, MsgSpecReader):  # they took sys.stdin when imported
        reader.default_input = sys.stdin
    os.chdir(workdir)
    os.environ.update(env)
    logging.getLogger().handlers.clear()
    logging.getLogger().setLevel(logging.WARNING)
    warnings.filters = list(_FILTERS)  # as warnings.catch_warnings restores them
    warnings._filters_mutated()  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        TargetAutopilot.cli.main(args=sys.argv[1:], prog_name=_PROGRAM)  # click's standalone mode exits
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)  # sys.exit("message"), as the interpreter does
        return 1
    except BaseException:  # an uncaught exception, as the interpreter does
        traceback.print_exc()
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()


def _wait(pid: int, timeout: float) -> int:
    """The child's exit code as subprocess gives it (-N when killed by signal N); killed after `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise subprocess.TimeoutExpired(_PROGRAM, timeout)
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
