"""The `autopilot-sandbox` console command: runs the sandbox, or says how to install it."""

from __future__ import annotations

import sys

INSTALL_HINT = (
    "autopilot-sandbox needs the `sandbox` extra, which is not installed (no module {name!r}). "
    "Install it with: pip install 'target-autopilot[sandbox]'"
)


def main() -> int:
    """Entry point: the sandbox's own CLI when its dependencies are there."""
    try:
        from target_autopilot.sandbox.cli import main as sandbox_main  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] == "target_autopilot":
            raise
        print(INSTALL_HINT.format(name=exc.name), file=sys.stderr)
        return 1
    return sandbox_main()
