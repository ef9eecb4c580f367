"""The rejected-records file: one JSON line for every record that was not exported, and why."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Any, TextIO

import msgspec

from target_autopilot.errors import ExportError

# Taps' records hold Decimals (the SDK's msgspec reader) and, from some taps, datetimes: written
# as JSON numbers and ISO strings, never as quoted "Decimal(...)".
_ENCODER = msgspec.json.Encoder(decimal_format="number", enc_hook=str)


def record_json(record: Any) -> str:
    """A source record as one line of JSON text."""
    return _ENCODER.encode(record).decode()


class RejectedFile:
    """Appends rejections as JSON lines; the file holds personal data, so only its owner may read it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None
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
            self._open().write(line)

    def open(self) -> None:
        """Create (or empty) the file now: an unwritable path must stop the run before anything is sent."""
        with self._lock:
            self._open()

    def _open(self) -> TextIO:
        if self._file is None:
            try:
                directory = os.path.dirname(self.path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
            except OSError as exc:
                raise ExportError(
                    f"rejected_records_path {self.path!r} cannot be written ({exc.strerror or exc}): "
                    "point it at a file this user may create. Nothing was sent to Autopilot."
                ) from None
            self._file = os.fdopen(fd, "w", encoding="utf-8")
        return self._file

    def close(self) -> None:
        """Flush and close; with no rejection, leave an empty file so no stale one is misread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # An unwritable path stopped the run when it was first met: nothing more to say here.
            with contextlib.suppress(ExportError):
                self._open().close()
