"""The target's settings: their JSON schema (the user-facing interface) and a checked, typed view of them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from singer_sdk import typing as th

from target_autopilot.apis import APIS, CLASSIC, ORTTO, ORTTO_REGIONS, default_url, setting_problems
from target_autopilot.config_keys import LOAD_METHODS
from target_autopilot.urls import url_problems

DEFAULT_API_URL = CLASSIC.url
DEFAULT_REJECTED_PATH = "output/autopilot-rejected.jsonl"
LIST_ASSIGNMENTS = ("auto", "bulk", "per_contact")
LIMIT_MODES = ("fail", "truncate")
INVALID_VALUE_MODES = ("drop_value", "reject_record")
SYNC_MODES = ("add", "mirror")
COMPLETENESS = ("activate_version", "sent")

SCHEMA = th.PropertiesList(
    th.Property(
        "api",
        th.StringType(allowed_values=list(APIS)),
        default=CLASSIC.name,
        description=(
            "Which Autopilot: `classic` (Autopilot Classic, api2.autopilothq.com: segments as lists) "
            "or `ortto` (today's Autopilot, the Ortto API at api.ap3api.com: segments as tags)."
        ),
    ),
    th.Property(
        "api_key",
        th.StringType,
        required=True,
        secret=True,
        description=(
            "API key, sent as the `autopilotapikey` header (classic) or `X-Api-Key` (ortto). "
            "Never logged or written."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        description=(
            f"Base URL of the API; when set, it wins over `ortto_region`. Default: {CLASSIC.url} "
            "(classic), the host of `ortto_region` (ortto). `http://` is accepted only for loopback "
            "hosts (127.0.0.0/8, ::1, localhost), e.g. the local sandbox."
        ),
    ),
    th.Property(
        "ortto_region",
        th.StringType(allowed_values=list(ORTTO_REGIONS)),
        default="default",
        description=(
            f"api: ortto only. The region of your Ortto instance, which picks the host: default "
            f"({ORTTO_REGIONS['default']}), au ({ORTTO_REGIONS['au']}) or eu ({ORTTO_REGIONS['eu']}). "
            "A key works only against its own region's host."
        ),
    ),
    th.Property(
        "field_mapping",
        th.ObjectType(additional_properties=th.StringType),
        description=(
            "Autopilot field → source property. Keys are standard fields (`Email`, `FirstName`, …), "
            "custom fields written `type--Name` (`integer--Orders`), or a plain display name "
            "(`Loyalty Tier`) whose type comes from the stream's schema. Email, FirstName and "
            "LastName are found by their usual column names when not mapped."
        ),
    ),
    th.Property(
        "segments",
        th.ObjectType(additional_properties=th.StringType),
        description=(
            "Stream name → Autopilot list name. A stream not named here goes to a list named "
            "after the stream."
        ),
    ),
    th.Property(
        "segment_property",
        th.StringType,
        description=(
            "A record property holding the record's segment name(s), a string or an array of "
            "strings. When set, lists are named after those values instead of the stream."
        ),
    ),
    th.Property(
        "segment_separator",
        th.StringType,
        description=(
            "With `segment_property`: splits a string value into several segment names (`;` turns "
            "`VIP;Newsletter` into two). Default: none, a value is one name."
        ),
    ),
    th.Property(
        "max_new_segments",
        th.IntegerType,
        default=25,
        description=(
            "The most lists (classic) or tags (ortto) one run may create: a run that would create "
            "more stops before any write, naming them (neither API can delete a tag)."
        ),
    ),
    th.Property(
        "max_profiles",
        th.IntegerType,
        default=100_000,
        description=(
            "The most distinct profiles (distinct normalised emails, across all segments) one run "
            "may export. Checked before anything is written."
        ),
    ),
    th.Property(
        "on_limit_exceeded",
        th.StringType(allowed_values=list(LIMIT_MODES)),
        default="fail",
        description=(
            "`fail`: stop before any write when there are more profiles than `max_profiles`. "
            "`truncate`: export the first `max_profiles` profiles in arrival order and reject the rest."
        ),
    ),
    th.Property(
        "requests_per_second",
        th.NumberType,
        description=(
            f"The most requests per second sent. Default: {CLASSIC.requests_per_second:g} (classic, "
            f"its documented limit), {ORTTO.requests_per_second:g} (ortto, the smallest plan's limit; "
            "after a 429 the run lowers its pace and the summary suggests a value)."
        ),
    ),
    th.Property(
        "retry_seconds",
        th.NumberType,
        default=120,
        description=(
            "How long one request is retried (after 429, 5xx, timeouts, dropped connections) "
            "before the export stops with an error and no STATE."
        ),
    ),
    th.Property(
        "list_assignment",
        th.StringType(allowed_values=list(LIST_ASSIGNMENTS)),
        default="auto",
        description=(
            "Classic only. How list memberships are written: `bulk` (inside bulk upserts), "
            "`per_contact` (one request per membership), or `auto` (checks once which works, then "
            "uses the cheaper)."
        ),
    ),
    th.Property(
        "max_rejected_fraction",
        th.NumberType,
        default=0.5,
        description=(
            "When more than this share of the run's records, or of one segment's (from 10 records "
            "on; a smaller segment over it gets a WARNING), is rejected (not exported, for any reason; "
            "a dropped value or a refused removal does not count), the run ends non-zero and emits no "
            "STATE, so the next run sends them again; what was written stays written. `1` never fails "
            "a run for its rejections."
        ),
    ),
    th.Property(
        "max_dropped_fraction",
        th.NumberType,
        default=0.5,
        description=(
            "When more than this share of one field's values would be dropped (see "
            "`on_invalid_value`), the run stops before any write, naming the field: a wrong mapping. "
            "`1` never stops a run for its dropped values."
        ),
    ),
    th.Property(
        "on_invalid_value",
        th.StringType(allowed_values=list(INVALID_VALUE_MODES)),
        default="drop_value",
        description=(
            "A value its field cannot take (`yesterday` for a date): `drop_value` exports the person "
            "without that value and writes the value to the rejected file (reason `invalid_value`); "
            "`reject_record` rejects the whole record (the behaviour of earlier versions)."
        ),
    ),
    th.Property(
        "rejected_records_path",
        th.StringType,
        default=DEFAULT_REJECTED_PATH,
        description=(
            "JSON Lines file receiving every record not exported and every value dropped: stream, "
            "reason code, message and the record. Each run writes its own file beside it "
            "(`autopilot-rejected.<UTC time>-<pid>.jsonl`); this path is a link to the latest run "
            "that rejected anything. Created readable by its owner only. The default is under "
            "`output/`, which Meltano's `.gitignore` leaves out of git."
        ),
    ),
    th.Property(
        "report_path",
        th.StringType,
        description=(
            "Optional path for a JSON run summary (the figures of the summary log). Each run writes "
            "its own report beside it (`<name>.<UTC time>-<pid>.json`); this path is a link to the "
            "latest run that received records, removed members or failed."
        ),
    ),
    th.Property(
        "sync_log_path",
        th.StringType,
        description=(
            "Optional SQLite file that each run appends to: the run (`runs`), what it decided for "
            "every person and segment (`changes`: added, removed, updated, unchanged, rejected with "
            "the rejected file's reason, value_dropped; `planned_*` in a dry run) and each person's "
            "latest state per segment (`snapshot`). Ask it with `autopilot-sync-log why EMAIL`. "
            "Created readable by its owner only."
        ),
    ),
    th.Property(
        "keep_run_files",
        th.IntegerType,
        default=30,
        description=(
            "Days to keep the per-run files (rejected records, reports) of this target and the runs of "
            "its sync log: at the start of each run, those of `rejected_records_path` and "
            "`report_path` that began longer ago are deleted, and so are older runs in "
            "`sync_log_path`. No other file is touched. `0` keeps them all."
        ),
    ),
    th.Property(
        "sync_mode",
        th.StringType(allowed_values=list(SYNC_MODES)),
        default="add",
        description=(
            "`add`: lists only gain members. `mirror`: after the additions, the members of each list "
            "whose segment arrived complete (see `complete_streams`) who are not in that segment are "
            "removed from that list (never deleted or unsubscribed)."
        ),
    ),
    th.Property(
        "complete_streams",
        th.StringType(allowed_values=list(COMPLETENESS)),
        default="activate_version",
        description=(
            "Which streams hold their whole segment in a run (only their lists are mirrored): "
            "`activate_version`, those the tap sent ACTIVATE_VERSION for (a full-table read); "
            "`sent`, every stream the tap sent (right for file taps that re-read whole files, "
            "wrong for incremental reads)."
        ),
    ),
    th.Property(
        "max_removal_fraction",
        th.NumberType,
        default=0.5,
        description=(
            "Mirror guard: when a list would lose more than this share of its current members, "
            "the run stops before any write, naming the list. `1` turns the guard off."
        ),
    ),
    th.Property(
        "managed_lists",
        th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
        description=(
            "With `segment_property` and `mirror`: stream name → the list names its records may "
            "take. When the stream arrives complete these lists are mirrored too, so a list no "
            "record names any more is emptied (within the guard)."
        ),
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        description=(
            "Read Autopilot and plan the whole export, then stop: nothing is written to Autopilot "
            "and no STATE is emitted. The plan per segment is logged and written to `report_path`."
        ),
    ),
    th.Property(
        "notify",
        th.BooleanType,
        description=(
            "Classic only. When set, sent to Autopilot as `notify` with every contact (false silences "
            "REST hooks)."
        ),
    ),
).to_dict()

# Replaces the SDK's `load_method`, which also offers `overwrite` (deleting what is there): this target
# only adds and updates, so both methods it takes upsert.
LOAD_METHOD = th.Property(
    "load_method",
    th.StringType(allowed_values=list(LOAD_METHODS)),
    default="append-only",
    description=(
        "`append-only` or `upsert`: both upsert contacts by email and add memberships. Removing "
        "members who left a segment is `sync_mode: mirror`'s job."
    ),
).to_dict()["load_method"]

_CUSTOM_KEY = re.compile(r"^(string|integer|float|date|boolean)--(.+)$")


@dataclass(frozen=True)
class Settings:
    """The settings the export needs, checked once at start-up."""

    api_key: str
    api: str = CLASSIC.name
    api_url: str = DEFAULT_API_URL
    field_mapping: Mapping[str, str] = field(default_factory=dict)
    segments: Mapping[str, str] = field(default_factory=dict)
    segment_property: str | None = None
    segment_separator: str | None = None
    max_new_segments: int = 25
    max_profiles: int = 100_000
    on_limit_exceeded: str = "fail"
    requests_per_second: float = 5.0
    retry_seconds: float = 120.0
    list_assignment: str = "auto"
    max_rejected_fraction: float = 0.5
    max_dropped_fraction: float = 0.5
    on_invalid_value: str = "drop_value"
    rejected_records_path: str = DEFAULT_REJECTED_PATH
    report_path: str | None = None
    sync_log_path: str | None = None
    keep_run_files: int = 30
    notify: bool | None = None
    sync_mode: str = "add"
    complete_streams: str = "activate_version"
    max_removal_fraction: float = 0.5
    managed_lists: Mapping[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False
    other_api_problems: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Settings(api_url={self.api_url!r}, api_key='***')"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Build settings from the SDK's (schema-validated) config."""
        api = APIS.get(str(config.get("api") or CLASSIC.name), CLASSIC)
        return cls(
            api_key=config["api_key"],
            api=api.name,
            api_url=str(config.get("api_url") or default_url(api, config)).rstrip("/"),
            field_mapping=dict(config.get("field_mapping") or {}),
            segments=dict(config.get("segments") or {}),
            segment_property=config.get("segment_property") or None,
            segment_separator=config.get("segment_separator") or None,
            max_new_segments=int(config.get("max_new_segments", 25)),
            max_profiles=int(config.get("max_profiles", 100_000)),
            on_limit_exceeded=config.get("on_limit_exceeded") or "fail",
            requests_per_second=float(config.get("requests_per_second") or api.requests_per_second),
            retry_seconds=float(config.get("retry_seconds", 120)),
            list_assignment=config.get("list_assignment") or "auto",
            max_rejected_fraction=float(config.get("max_rejected_fraction", 0.5)),
            max_dropped_fraction=float(config.get("max_dropped_fraction", 0.5)),
            on_invalid_value=config.get("on_invalid_value") or "drop_value",
            rejected_records_path=config.get("rejected_records_path") or DEFAULT_REJECTED_PATH,
            report_path=config.get("report_path") or None,
            sync_log_path=config.get("sync_log_path") or None,
            keep_run_files=int(config.get("keep_run_files", 30)),
            notify=config.get("notify"),
            sync_mode=config.get("sync_mode") or "add",
            complete_streams=config.get("complete_streams") or "activate_version",
            max_removal_fraction=float(config.get("max_removal_fraction", 0.5)),
            managed_lists={
                stream: list(titles) for stream, titles in (config.get("managed_lists") or {}).items()
            },
            dry_run=bool(config.get("dry_run", False)),
            other_api_problems=tuple(setting_problems(config, api.name)),
        )

    def problems(self) -> list[str]:
        """Every mistake in the settings, each as a sentence naming the setting and the fix."""
        found = []
        if not self.api_key.strip():
            found.append("api_key is empty: set it to your Autopilot API key.")
        found += url_problems(self.api_url, DEFAULT_API_URL) + list(self.other_api_problems)
        if self.max_profiles < 1:
            found.append(f"max_profiles is {self.max_profiles}: it must be 1 or more.")
        if self.requests_per_second <= 0:
            found.append(
                f"requests_per_second is {self.requests_per_second:g}: it must be above 0 "
                "(Autopilot Classic's documented limit is 5, Ortto's smallest plan's 10)."
            )
        if self.keep_run_files < 0:
            found.append(f"keep_run_files is {self.keep_run_files}: it must be 0 (keep all) or more days.")
        if self.retry_seconds < 0:
            found.append(f"retry_seconds is {self.retry_seconds:g}: it must be 0 or more.")
        if not 0 <= self.max_rejected_fraction <= 1:
            found.append(
                f"max_rejected_fraction is {self.max_rejected_fraction:g}: it must be between 0 and 1 "
                "(0.5: a run fails when more than half of its records are rejected)."
            )
        if not 0 <= self.max_dropped_fraction <= 1:
            found.append(
                f"max_dropped_fraction is {self.max_dropped_fraction:g}: it must be between 0 and 1 "
                "(0.5: a run stops when a field would lose more than half of its values)."
            )
        if self.max_new_segments < 0:
            found.append(f"max_new_segments is {self.max_new_segments}: it must be 0 or more.")
        if self.segment_property is not None and not self.segment_property.strip():
            found.append("segment_property is blank: remove it or name a record property.")
        if self.segment_separator is not None and self.segment_property is None:
            found.append(
                "segment_separator is set without segment_property: it splits that property's "
                "values. Remove it, or set segment_property."
            )
        for stream, title in self.segments.items():
            if not title.strip():
                found.append(f"segments.{stream} is blank: give the Autopilot list name.")
        return found + self._mirror_problems()

    def _mirror_problems(self) -> list[str]:
        found = []
        if not 0 <= self.max_removal_fraction <= 1:
            found.append(
                f"max_removal_fraction is {self.max_removal_fraction:g}: it must be between 0 and 1 "
                "(the share of a list's members one run may remove; 1 turns the guard off)."
            )
        if self.managed_lists and self.segment_property is None:
            found.append(
                "managed_lists is set without segment_property: a stream then fills exactly one "
                "list (`segments`), which mirror already manages. Remove managed_lists."
            )
        for stream, titles in self.managed_lists.items():
            if any(not title.strip() for title in titles):
                found.append(f"managed_lists.{stream} holds a blank list name: remove it.")
        return found


def custom_key_parts(key: str) -> tuple[str, str] | None:
    """Split a `type--Name` custom field key into (type, Name), or None when it is not one."""
    match = _CUSTOM_KEY.match(key)
    if match is None:
        return None
    return match.group(1), match.group(2)
