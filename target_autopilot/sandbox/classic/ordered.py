"""An order index: keys in the order they were added, with "the next N after this key" fast."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

# Compact an order index once it holds more removed entries than this and than live ones.
COMPACT_AFTER = 64


class Ordered:
    """Keys in the order they were added, with "the next N after this key" in O(log n).

    `seq` maps each present key to its (store-wide, increasing) sequence number; the parallel lists
    keep every key ever added in sequence order, including removed ones (skipped when read, and
    dropped by `compact()`, which only runs between transactions so that an undo can rely on them).
    """

    def __init__(self) -> None:
        self.seq: dict[str, int] = {}
        self._seqs: list[int] = []
        self._keys: list[str] = []
        self._removed = 0

    def __len__(self) -> int:
        return len(self.seq)

    def __contains__(self, key: str) -> bool:
        return key in self.seq

    def add(self, key: str, seq: int) -> None:
        """Add a key that is not present, after every other key."""
        self.seq[key] = seq
        self._seqs.append(seq)
        self._keys.append(key)

    def unadd(self, key: str) -> None:
        """Undo the latest `add`, which was of `key`."""
        del self.seq[key]
        self._seqs.pop()
        self._keys.pop()

    def remove(self, key: str) -> int:
        """Remove a present key; return its sequence number (for `restore`)."""
        self._removed += 1
        return self.seq.pop(key)

    def restore(self, key: str, seq: int) -> None:
        """Undo a `remove` (of this transaction) of `key`."""
        self._removed -= 1
        self.seq[key] = seq

    def after(self, key: str | None, limit: int) -> list[str] | None:
        """Up to `limit` keys following `key` (from the start for None); None when `key` is absent."""
        start = 0
        if key is not None:
            seq = self.seq.get(key)
            if seq is None:
                return None
            start = bisect_right(self._seqs, seq)
        found: list[str] = []
        live, seqs, keys = self.seq, self._seqs, self._keys
        for index in range(start, len(keys)):
            if len(found) >= limit:
                break
            if live.get(keys[index]) == seqs[index]:
                found.append(keys[index])
        return found

    def __iter__(self) -> Iterator[str]:
        live = self.seq
        return (key for seq, key in zip(self._seqs, self._keys, strict=True) if live.get(key) == seq)

    def compact(self) -> None:
        """Drop removed keys from the order lists once they outnumber the present ones."""
        if self._removed > COMPACT_AFTER and self._removed > len(self.seq):
            pairs = sorted((seq, key) for key, seq in self.seq.items())
            self._seqs = [seq for seq, _ in pairs]
            self._keys = [key for _, key in pairs]
            self._removed = 0
