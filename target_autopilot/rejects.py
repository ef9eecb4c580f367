"""The rejected-records file: one JSON line for every record that was not exported, and why."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Any, BinaryIO

import msgspec

from target_autopilot.errors import ExportError
from target_autopilot.runfiles import link_latest, run_path

# Taps' records hold Decimals (the SDK's msgspec reader) and, from some taps, datetimes: written
# as JSON numbers and ISO strings, never as quoted "Decimal(...)".
_ENCODER = msgspec.json.Encoder(decimal_format="number", enc_hook=str)


def record_json(record: Any) -> str:
    """A source record as one line of JSON text."""
    return _ENCODER.encode(record).decode()


class RejectedFile:
    """Appends rejections as JSON lines to this run's own file; the configured path links to the latest
    run that rejected anything. The files hold personal data, so only their owner may read them."""

    def __init__(self, path: str, run_id: str) -> None:
        self.path = path
        self.run_path = run_path(path, run_id)
        self.lines = 0
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._closed = False

    def write(
        self, stream: str, reason: str, message: str, record: Any, detail: dict[str, Any] | None = None
    ) -> None:
        """Write one rejection. `record` is the source record (a dict) or its JSON text; `detail`
        adds members (for a dropped value: its property, field and value)."""
        body = record if isinstance(record, str) else record_json(record)
        extra = "".join(f",{json.dumps(key)}:{record_json(value)}" for key, value in (detail or {}).items())
        line = (
            f'{{"stream":{json.dumps(stream, ensure_ascii=False)},"reason":{json.dumps(reason)},'
            f'"message":{json.dumps(message, ensure_ascii=False)}{extra},"record":{body}}}\n'
        )
        with self._lock:
            self._open().write(line.encode())  # UTF-8 whatever the locale
            self.lines += 1

    def open(self) -> None:
        """Create this run's file now: an unwritable path must stop the run before anything is sent."""
        with self._lock:
            self._open()

    def _open(self) -> BinaryIO:
        if self._file is None:
            try:
                if os.path.isdir(self.path):
                    raise IsADirectoryError(21, "Is a directory")
                directory = os.path.dirname(self.path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                fd = os.open(self.run_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.fchmod(fd, 0o600)  # whatever the umask
                if os.path.exists(self.path):
                    os.chmod(self.path, 0o600)  # an earlier run's file, perhaps from an older version
            except OSError as exc:
                raise ExportError(
                    f"rejected_records_path {self.path!r} cannot be written ({exc.strerror or exc}): "
                    "point it at a file this user may create. Nothing was sent to Autopilot."
                ) from None
            self._file = os.fdopen(fd, "wb")
        return self._file

    def close(self) -> None:
        """Flush and close; link the configured path to this run's file, or drop it when it is empty."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # An unwritable path stopped the run when it was first met: nothing more to say here.
            with contextlib.suppress(ExportError):
                self._open().close()
                if self.lines:
                    link_latest(self.path, self.run_path)
                else:
                    os.remove(self.run_path)
