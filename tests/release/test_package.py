"""The release: sdist and wheel build, `twine check` passes, and the wheel works in a clean virtual
environment (both console scripts, the sandbox through its extra)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr[-4000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    # --no-isolation: the build backend (hatchling) comes with the dev dependencies, no download.
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_twine_check_passes(dist: dict[str, Path]) -> None:
    out = run(BIN / "twine", "check", "--strict", dist["wheel"], dist["sdist"])
    assert out.count("PASSED") == 2


def test_the_wheel_holds_the_package_and_no_tests(dist: dict[str, Path]) -> None:
    names = zipfile.ZipFile(dist["wheel"]).namelist()
    assert "target_autopilot/target.py" in names
    assert "target_autopilot/sandbox/server.py" in names
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/", "demo/"))]


def test_the_wheel_runs_from_a_clean_virtual_environment(dist: dict[str, Path], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # uv (a dependency of meltano) makes the environment and installs from its cache in seconds.
    run(BIN / "uv", "venv", "--quiet", "--python", sys.executable, venv)
    run(
        BIN / "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        venv / "bin" / "python",
        f"{dist['wheel']}[sandbox]",
    )
    about = json.loads(run(venv / "bin" / "target-autopilot", "--about", "--format", "json", cwd=tmp_path))
    assert about["name"] == "target-autopilot"
    assert "api_key" in about["settings"]["properties"]
    assert "--rate-limit" in run(venv / "bin" / "autopilot-sandbox", "--help", cwd=tmp_path)
    # Installed from the wheel, not from this checkout.
    location = run(
        venv / "bin" / "python",
        "-c",
        "import target_autopilot; print(target_autopilot.__file__)",
        cwd=tmp_path,
    )
    assert location.startswith(str(venv))
