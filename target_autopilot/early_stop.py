"""Stopping before the end of the input without breaking the tap's pipe.

When a target exits while the tap is still writing, the pipe between them breaks. Under `meltano run`
that ends in a long `BrokenPipeError` traceback from Meltano (raised when Meltano still holds output
of the tap it could not write), printed as *the* error, after the target's real reason. Reading the
input to its end first (bounded in time) lets the tap finish or Meltano notice the target's exit
with nothing pending, so the run ends as a plain "Loader failed" after the target's message.
"""

from __future__ import annotations

import os
import select
import sys
import time
from typing import IO, Any

# Long enough for a tap that is finishing anyway; a longer extraction is stopped by Meltano once the
# target has exited, which it then does with the pipe emptied.
DRAIN_SECONDS = 10.0
_CHUNK = 1 << 20


def discard_unread_input(stream: IO[Any] | None = None, seconds: float = DRAIN_SECONDS) -> None:
    """Read and throw away what is left of the input (standard input by default), until it ends or
    `seconds` have passed. Does nothing for a terminal or a stream without a file descriptor."""
    stream = stream if stream is not None else sys.stdin
    try:
        if stream is None or stream.closed or stream.isatty():
            return
        fd = stream.fileno()
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            ready, _, _ = select.select([fd], [], [], left)
            if not ready or not os.read(fd, _CHUNK):
                return
        except OSError:
            return
