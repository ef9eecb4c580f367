"""One flag per staged profile, by its arrival number: distinct counts without holding a set of emails."""

from __future__ import annotations

import threading
from collections.abc import Iterable


class ProfileFlags:
    """Which staged profiles something happened to, one byte each (a million profiles take 1 MiB).

    A set of emails for the same purpose took about 120 bytes a profile (the email string and the set's
    entry); staging numbers every profile (`seq`, from 1), so a byte per number is enough.
    """

    def __init__(self) -> None:
        self._flags = bytearray()
        self._lock = threading.Lock()
        self.count = 0  # how many flags are set

    def set(self, seqs: Iterable[int]) -> int:
        """Flag these profiles; how many were not flagged before."""
        new = 0
        with self._lock:
            for seq in seqs:
                if seq >= len(self._flags):
                    self._flags.extend(bytes(max(seq + 1 - len(self._flags), len(self._flags))))
                if not self._flags[seq]:
                    self._flags[seq] = 1
                    new += 1
            self.count += new
        return new
