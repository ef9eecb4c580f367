"""Guards against silently wrong data: dropped values, rejected segments, new segments, joined names.

Each check returns what is wrong as a message (naming the setting that allows it), or nothing; the
export decides whether it stops the run or, in a dry run, becomes the verdict.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from target_autopilot.errors import ExportError
from target_autopilot.plan import Plan
from target_autopilot.report import Report

SEPARATORS = (";", ",", "|")  # characters that suggest a cell naming several segments


@dataclass(frozen=True)
class FieldDrops:
    """How many of one field's values were given and how many of them were dropped."""

    key: str
    source: str
    values: int
    dropped: int
    example: Any

    @property
    def fraction(self) -> float:
        return self.dropped / self.values if self.values else 1.0

    def describe(self) -> str:
        return (
            f"{self.dropped:,} of {self.values:,} values of the field {self.key!r} "
            f"(property {self.source!r}, e.g. {_show(self.example)})"
        )


class DroppedValues:
    """Counts the values dropped per field (and one example each) while records are read."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], Any] = {}

    def add(self, key: str, source: str, value: Any) -> None:
        self.counts[key, source] += 1
        self.examples.setdefault((key, source), value)

    def by_field(self, filled: Iterable[Mapping[tuple[str, str], int]]) -> list[FieldDrops]:
        """Each field that lost a value, given how many values each stream's mapping was given."""
        given: Counter[tuple[str, str]] = Counter()
        for counts in filled:
            given.update(counts)
        return [
            FieldDrops(key, source, given[key, source], dropped, self.examples[key, source])
            for (key, source), dropped in sorted(self.counts.items())
        ]


def dropped_problem(fields: Iterable[FieldDrops], max_fraction: float) -> str | None:
    """What is wrong when a field would lose more than `max_fraction` of its values."""
    over = [field for field in fields if field.fraction > max_fraction]
    if not over:
        return None
    return (
        "A field would lose most of its values: "
        + "; ".join(field.describe() for field in over)
        + f" cannot be stored, more than max_dropped_fraction = {max_fraction:g} allows. "
        "Check field_mapping (is the property the right one, is the type in the key right?). "
        "Nothing was written to Autopilot and no STATE was emitted. If the data is right, raise "
        "max_dropped_fraction (1 never stops a run for its dropped values)."
    )


def rejected_segments(
    segments: Mapping[str, tuple[int, int]], max_fraction: float
) -> list[tuple[str, int, int]]:
    """(title, rejected, records) of each segment more than `max_fraction` of whose records were
    rejected; `segments` maps each title to (records, rejected)."""
    return [
        (title, rejected, records)
        for title, (records, rejected) in sorted(segments.items())
        if records and rejected / records > max_fraction
    ]


def new_segments_problem(diff: Plan, max_new: int, noun: str) -> str | None:
    """What is wrong when the run would create more than `max_new` lists or tags (`noun`)."""
    new = new_segments(diff)
    if len(new) <= max_new:
        return None
    return (
        f"The run would create {len(new)} new {noun}s, more than max_new_segments = {max_new} allows: "
        f"{', '.join(map(repr, new))}. Autopilot cannot delete them afterwards, so nothing was written. "
        "If a cell names several segments, set segment_separator; if these are right, raise "
        "max_new_segments for this run."
    )


def new_segments(diff: Plan) -> list[str]:
    """The titles of the lists or tags the run would create."""
    return [title for title, segment in diff.segments.items() if not segment.exists and segment.profiles]


def joined_names(titles: Iterable[str]) -> list[str]:
    """The segment names holding a separator character: probably several segments in one cell."""
    return sorted(title for title in titles if any(mark in title for mark in SEPARATORS))


def stop(error: ExportError, dry_run: bool, report: Report, logger: logging.Logger) -> None:
    """Raise `error`; in a dry run, note it as the run's verdict instead and let planning go on."""
    if not dry_run:
        raise error
    report.verdicts.append(str(error))
    logger.warning("Dry run: a real run would stop here. %s", error)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
