"""Guards against silently wrong data: dropped values, rejections, new segments, joined names, unread sources.

Each check returns what is wrong as a message (naming the setting that allows it), or nothing; the
export decides whether it stops the run or, in a dry run, becomes the verdict.
"""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
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


def rejected_problem(report: Report, max_fraction: float, rejected_path: str) -> str | None:
    """What is wrong when more than `max_fraction` of the run's records, or of a segment's, were rejected."""
    advice = (
        "the next run sends these records again (what Autopilot accepted stays). "
        f"The reasons are in {rejected_path}. Fix the cause, or raise "
        "max_rejected_fraction (1 never fails a run for its rejections)."
    )
    records, rejected = report.records, _records_rejected(report.rejected)
    if records and rejected / records > max_fraction:
        return (
            f"{rejected:,} of the run's {records:,} records were rejected ({rejected / records:.0%}), more "
            f"than max_rejected_fraction = {max_fraction:g} allows, so the run failed and wrote no STATE: "
            + advice
        )
    over = [
        f"{title!r}: {bad:,} of {total:,} records ({bad / total:.0%})"
        for title, figures in sorted(report.segments.items())
        if (total := figures.records) and (bad := _records_rejected(figures.rejected)) / total > max_fraction
    ]
    if not over:
        return None
    return (
        f"A segment lost more than max_rejected_fraction = {max_fraction:g} of its records to rejections: "
        f"{'; '.join(over)}. The other segments were exported; the run failed and wrote no STATE: " + advice
    )


def _records_rejected(rejected: Mapping[str, int]) -> int:
    # A refused removal is a leaver's, not one of this run's records: it is written down and tried
    # again by the next complete run, and never fails this one.
    return sum(count for reason, count in rejected.items() if reason != "removal_rejected")


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


def warn_joined_names(names: Collection[str], segment_property: str | None, logger: logging.Logger) -> None:
    """Say which segment names look like several segments in one cell, and the setting that splits them."""
    if names:
        logger.warning(
            "Segment names holding %s: %s. If a cell of %r names several segments, set "
            "segment_separator (e.g. ';') so each becomes its own list or tag",
            " or ".join(map(repr, SEPARATORS)),
            ", ".join(map(repr, sorted(names))),
            segment_property,
        )


def warn_unread_sources(
    field_mapping: Mapping[str, str], stream_properties: Mapping[str, Collection[str]], logger: logging.Logger
) -> None:
    """Say which mapped properties no stream of the run has: their fields are left out (a WARNING, since
    Meltano merges object settings, so one job's mapping may name another job's columns)."""
    if not stream_properties:
        return
    known = set().union(*stream_properties.values())
    for key, source in field_mapping.items():
        if source not in known:
            close = difflib.get_close_matches(source, known, n=1)
            logger.warning(
                "field_mapping.%s names the property %r, which no stream of this run has "
                "(streams read: %s), so %s is left out%s",
                key,
                source,
                ", ".join(sorted(stream_properties)),
                key,
                f". Did you mean {close[0]!r}?" if close else "",
            )


def stop(error: ExportError, dry_run: bool, report: Report, logger: logging.Logger) -> None:
    """Raise `error`; in a dry run, note it as the run's verdict instead and let planning go on."""
    if not dry_run:
        raise error
    report.verdicts.append(str(error))
    logger.warning("Dry run: a real run would stop here. %s", error)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
