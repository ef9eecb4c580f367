"""Reading the tap's output: Singer messages parsed with msgspec, with a clear error for anything else."""

from __future__ import annotations

import decimal
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, cast

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader

from target_autopilot.errors import InputError


class Reader(MsgSpecReader):
    """Reads Singer messages with msgspec; anything that is not a well-formed message is a clear InputError.

    The checks run before the SDK sees a message, so its own (a traceback, or an error quoting the
    whole record) never come into play. Blank lines carry nothing and are skipped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self._streams: set[str] = set()

    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict[str, Any]], None]]
    ) -> Counter[str]:
        # The SDK only iterates over the input, so a generator of its lines will do.
        lines = cast("IO[str]", self._numbered(file_input or self.default_input))
        return super().process_lines(lines, callbacks)

    def _numbered(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            self.line_number += 1
            if line.strip():
                yield line

    def deserialize_json(self, line: str) -> dict[str, Any]:
        where = f"Input line {self.line_number}"
        try:
            parsed = _DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise InputError(
                f"{where} is not valid JSON ({exc}; it starts with {line[:60]!r}). "
                "Check the tap's output: every line must be one Singer message."
            ) from None
        except RecursionError:
            raise InputError(f"{where} is JSON nested too deeply to be a Singer message.") from None
        if not isinstance(parsed, dict):
            raise InputError(f"{where} is JSON but not a Singer message object.")
        _check_message(parsed, where, self._streams)
        return parsed


_DECODER = msgspec.json.Decoder(float_hook=decimal.Decimal)  # as the SDK's reader: no float rounding
_MESSAGE_TYPES = ("RECORD", "SCHEMA", "STATE", "ACTIVATE_VERSION")


def _check_message(message: dict[str, Any], where: str, streams: set[str]) -> None:
    """Raise InputError unless `message` is a Singer message this target can take."""
    kind = message.get("type")
    if kind == "BATCH":
        raise InputError(
            f"{where} is a BATCH message, which target-autopilot does not take: "
            "configure the tap to send RECORD messages."
        )
    if kind is None:
        raise InputError(f"{where} is a JSON object without a `type`, so not a Singer message.")
    if kind not in _MESSAGE_TYPES:
        raise InputError(
            f"{where} has message type {str(kind)[:40]!r}, which is not one of {', '.join(_MESSAGE_TYPES)}."
        )
    if kind == "STATE":
        if "value" not in message:
            raise InputError(f"{where}: STATE message without a `value`.")
        return
    stream = message.get("stream")
    if not isinstance(stream, str) or not stream:
        raise InputError(f"{where}: {kind} message without a stream name (a non-empty string).")
    if kind == "RECORD" and not isinstance(message.get("record"), dict):
        raise InputError(f"{where}: RECORD message for stream {stream!r} without a `record` object.")
    if kind == "SCHEMA":
        schema = message.get("schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
            raise InputError(
                f"{where}: SCHEMA message for stream {stream!r} without a `schema` object "
                "holding a `properties` object."
            )
        streams.add(stream)
    if kind == "ACTIVATE_VERSION" and stream not in streams:
        raise InputError(f"{where}: ACTIVATE_VERSION for stream {stream!r} before its SCHEMA.")
