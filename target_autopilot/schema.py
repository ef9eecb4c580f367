"""The target's settings as users see them: the JSON schema (names, types, defaults, descriptions)."""

from __future__ import annotations

from singer_sdk import typing as th

from target_autopilot.apis import APIS, CLASSIC, ORTTO, ORTTO_REGIONS
from target_autopilot.config_keys import LOAD_METHODS

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
            "`sent`, every stream the tap sent at least one record for (right for file taps that read "
            "whole files, wrong for incremental database reads; a stream sent without a record, such as "
            "an unchanged file under tap-spreadsheets' state, is not mirrored)."
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
