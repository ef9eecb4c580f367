"""The target's settings: a checked, typed view of them (their JSON schema is schema.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from target_autopilot.apis import APIS, CLASSIC, default_url, setting_problems
from target_autopilot.schema import DEFAULT_API_URL, DEFAULT_REJECTED_PATH
from target_autopilot.urls import url_problems

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
