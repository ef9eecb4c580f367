"""Personal data at rest expires: a run killed outright leaves its staged profiles on disk only until the
next run starts, and a run never removes the staging of a run that is still going.

Every run here is its own process with its own temporary directory (TMPDIR), as a user's runs are: a
run forked from the test process would keep the test's temporary directory, which Python looks up once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from target_autopilot import stagingdir
from target_autopilot.sandbox import SandboxControl
from tests.target.support import TARGET, record, schema, start_cli, state, target_config

PEOPLE = 600
# Enough staged profiles to overflow SQLite's page cache (2 MiB), so that they are in the file before
# the run commits anything: what a run killed while staging leaves on disk.
SPILLED = 20_000


def messages(first: int, count: int) -> list[str]:
    lines = [schema("people", ["email", "first_name"])]
    people = range(first, first + count)
    lines += [record("people", email=f"p{i}@example.com", first_name=f"P{i}") for i in people]
    return [json.dumps(line) + "\n" for line in [*lines, state({"offset": first + count})]]


def start(config: dict[str, Any], work: Path, tmp: Path, people: int = PEOPLE) -> subprocess.Popen[str]:
    """A run whose input stays open after the records: it is staging, not yet applying."""
    config_path = work / "config.json"
    config_path.write_text(json.dumps({"rejected_records_path": str(work / "rejected.jsonl"), **config}))
    process = start_cli(config_path, {"TMPDIR": str(tmp)})
    assert process.stdin is not None
    process.stdin.writelines(messages(0, people)[:-1])  # no STATE yet: the input goes on
    process.stdin.flush()
    return process


def staging(tmp: Path, holding: str = "", timeout: float = 60) -> Path:
    """The staging directory in `tmp` once it is locked and its database file holds `holding`."""
    deadline = time.monotonic() + timeout
    while True:
        for directory in tmp.glob(f"{stagingdir.PREFIX}*"):
            database = directory / "staging.db"
            locked = (directory / stagingdir.LOCK).exists() and database.exists()
            if locked and holding.encode() in database.read_bytes():
                return directory
        assert time.monotonic() < deadline, f"no staging directory holding {holding!r} in {tmp}"
        time.sleep(0.05)


def aged(directory: Path, seconds: float) -> None:
    """Make `directory` look `seconds` old (past the minute a starting run is given)."""
    then = time.time() - seconds
    os.utime(directory, (then, then))


def run_to_the_end(config: dict[str, Any], work: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    config_path = work / "config.json"
    config_path.write_text(json.dumps({"rejected_records_path": str(work / "rejected.jsonl"), **config}))
    return subprocess.run(
        [TARGET, "--config", str(config_path)],
        input="".join(messages(PEOPLE, 5)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp)},
    )


def folders(tmp_path: Path, *names: str) -> list[Path]:
    made = [tmp_path / name for name in names]
    for path in made:
        path.mkdir()
    return made


def test_a_killed_runs_profiles_are_deleted_when_the_next_run_starts(
    sandbox: SandboxControl, tmp_path: Path
) -> None:
    tmp, killed_work, next_work = folders(tmp_path, "tmp", "killed", "next")
    killed = start(target_config(sandbox), killed_work, tmp, SPILLED)
    left = staging(tmp, holding="p1@example.com")
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    assert (left / "staging.db").exists(), "a killed run cannot clean up: nothing to test"
    aged(left, 2 * stagingdir.STARTING_SECONDS)

    after = run_to_the_end(target_config(sandbox), next_work, tmp)

    assert after.returncode == 0, after.stderr
    assert not left.exists()
    assert f"Deleted the staging directory of a run killed before removing it: {left}" in after.stderr
    assert list(tmp.iterdir()) == []  # the run's own staging went at its end


def test_a_run_never_deletes_the_staging_of_a_run_still_going(
    sandbox: SandboxControl, tmp_path: Path
) -> None:
    tmp, going_work, other_work = folders(tmp_path, "tmp", "going", "other")
    going = start(target_config(sandbox), going_work, tmp)
    kept = staging(tmp)
    aged(kept, 2 * stagingdir.STARTING_SECONDS)  # old enough: only its lock keeps it

    other = run_to_the_end(target_config(sandbox), other_work, tmp)
    assert other.returncode == 0, other.stderr
    assert (kept / "staging.db").exists()
    assert "Deleted the staging directory" not in other.stderr

    stdout, stderr = going.communicate(messages(0, PEOPLE)[-1], timeout=120)
    assert going.returncode == 0, stderr
    assert json.loads(stdout) == {"offset": PEOPLE}
    assert len(sandbox.lists()["people"]) == PEOPLE + 5
    assert not kept.exists()


def test_a_staging_directory_from_before_the_lock_is_deleted_after_a_day_untouched(tmp_path: Path) -> None:
    now = time.time()
    old, recent = folders(tmp_path, f"{stagingdir.PREFIX}old", f"{stagingdir.PREFIX}recent")
    (old / "staging.db").write_text("old profiles")
    (recent / "staging.db").write_text("recent profiles")
    for path, age in ((old / "staging.db", 25), (old, 25), (recent / "staging.db", 23), (recent, 25)):
        os.utime(path, (now - age * 3600, now - age * 3600))
    unrelated = [tmp_path / "other-tool-dir", tmp_path / f"{stagingdir.PREFIX}pg-data"]  # no staging.db
    for path in unrelated:
        path.mkdir()
        (path / "data").write_text("not ours")
        os.utime(path, (now - 100 * 3600, now - 100 * 3600))

    assert stagingdir.sweep(str(tmp_path), now) == [str(old)]
    kept = sorted([recent.name, *(path.name for path in unrelated)])
    assert sorted(path.name for path in tmp_path.iterdir()) == kept


def test_an_unlocked_staging_directory_is_left_alone_in_its_first_minute(tmp_path: Path) -> None:
    """A run takes its lock just after making its directory: a sweep in between must not take it."""
    now = time.time()
    starting, gone = folders(tmp_path, f"{stagingdir.PREFIX}starting", f"{stagingdir.PREFIX}gone")
    for path, age in ((starting, stagingdir.STARTING_SECONDS - 5), (gone, stagingdir.STARTING_SECONDS + 5)):
        (path / stagingdir.LOCK).touch()
        os.utime(path, (now - age, now - age))

    assert stagingdir.sweep(str(tmp_path), now) == [str(gone)]
    assert [path.name for path in tmp_path.iterdir()] == [starting.name]
