"""Bad input: every case ends in a clear error before any write, or in exactly the records it concerns
being rejected with a reason while the rest lands. Never a traceback, never a silent drop.

Each case of `CASES` runs the real CLI against the sandbox. Outcomes:
- ("error", text): exit non-zero, `text` in the one clear message, no request reached the sandbox,
  nothing on stdout (no STATE);
- ("rejected", reason): exit 0, the bad record(s) in the rejected file with that reason, every other
  record of the same input in Autopilot;
- ("dropped", "invalid_value"): exit 0, the bad value (only) in the rejected file with its property, field
  and value, and its person in Autopilot without that field (`on_invalid_value: drop_value`, the default);
- ("exported", ""): exit 0, every record in Autopilot (awkward but valid data), plus the case's check.

Email syntax decisions (`ADDRESSES`): email-validator's defaults without DNS, as issue 3 asks. So quoted
local parts ("john..doe"@…) and domain literals (user@[192.168.0.1]) are invalid, as are domains
without a dot (a@b) or reserved for tests/documentation-only use (.test, .invalid, localhost);
internationalised addresses (RFC 6531) are valid; a local part over RFC 5321's 64 octets is valid (the
validator checks that limit only in its strict mode, because real mail servers accept longer ones;
the 254-octet total is enforced); surrounding whitespace is trimmed and case is folded. The identity
sent is the validator's normalised form (NFC, Unicode domain).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from target_autopilot.sandbox import Sandbox, run_sandbox
from tests.target.support import (
    Run,
    RunTarget,
    custom_fields,
    logged_at,
    record,
    run_cli,
    schema,
    state,
    target_config,
)

Message = dict[str, Any] | str
Check = Callable[[Sandbox, Run], None]

S = "people"
STRING = {"type": ["string", "null"]}
PEOPLE = {"email": STRING, "first_name": STRING, "last_name": STRING}
GOOD = record(S, email="good@example.com", first_name="Good")


def people(*records: Message, properties: dict[str, Any] | None = None) -> list[Message]:
    """The `people` stream's SCHEMA, a good record, then `records`."""
    return [schema(S, properties or PEOPLE), GOOD, *records]


def segmented(*records: Message, properties: dict[str, Any]) -> list[Message]:
    """As `people`, for `segment_property: seg`: the good record names its segment."""
    return [schema(S, properties), record(S, email="good@example.com", seg="VIP"), *records]


@dataclass(frozen=True)
class Case:
    id: str
    lines: list[Message]
    expected: tuple[str, str]
    config: dict[str, Any] = field(default_factory=dict)
    check: Check | None = None
    says: str = ""  # for a rejection: part of its message


# Checks of what landed, for the cases where how it landed matters


def new_schema_applies(sandbox: Sandbox, run: Run) -> None:
    contact = sandbox.contact("later@example.com") or {}
    assert contact.get("FirstName") == "Later"
    assert custom_fields(contact) == {"Tier": ("gold", "string")}
    assert "FirstName" not in (sandbox.contact("early@example.com") or {"FirstName": "?"})


def typo_warned(sandbox: Sandbox, run: Run) -> None:
    """A mapped property no stream has: exported without the field, with a WARNING that names it."""
    warned = logged_at("WARNING", run.stderr)
    assert (
        "field_mapping.FirstName names the property 'frist_name', which no stream of this run has "
        "(streams read: people), so FirstName is left out. Did you mean 'first_name'?"
    ) in warned
    assert "FirstName" not in (sandbox.contact("good@example.com") or {"FirstName": "?"})


def one_profile_two_lists(sandbox: Sandbox, run: Run) -> None:
    assert sandbox.lists() == {"a": ["ada@example.com"], "b": ["ada@example.com"]}
    assert (sandbox.contact("ada@example.com") or {})["Email"] == "ada@example.com"
    assert run.report["profiles"] == 1


UNICODE_NAMES = [
    ("Zoë 🎉🦄", "Ñúñez-Ångström"),
    ("山田", "太郎"),
    ("مرحبا", "שלום"),
    ("Ma\u0301ria", "O\u2019Brien 👩\u200d👩\u200d👧"),  # combining accent, ZWJ emoji sequence
]


def names_round_trip(sandbox: Sandbox, run: Run) -> None:
    for index, (first, last) in enumerate(UNICODE_NAMES):
        contact = sandbox.contact(f"u{index}@example.com") or {}
        assert (contact.get("FirstName"), contact.get("LastName")) == (first, last)


LONG = "x" * 9_990 + "0123456789"


def long_value_intact(sandbox: Sandbox, run: Run) -> None:
    contact = sandbox.contact("long@example.com") or {}
    assert contact.get("FirstName") == LONG
    assert custom_fields(contact) == {"Notes": (LONG, "string")}


def typed_custom_fields(sandbox: Sandbox, run: Run) -> None:
    assert custom_fields(sandbox.contact("typed@example.com")) == {
        "Orders": (1234, "integer"),
        "Score": (2.5, "float"),
        "VIP": (True, "boolean"),
        "Signed Up": ("2024-02-29T00:00:00.000Z", "date"),
        "Last Seen": ("2024-05-01T08:00:00.000Z", "date"),
        "Code": ("42", "string"),
    }
    assert custom_fields(sandbox.contact("typed2@example.com")) == {
        "Orders": (7, "integer"),
        "Score": (3.0, "float"),
        "VIP": (False, "boolean"),
        "Signed Up": ("2024-05-01T08:00:00.000Z", "date"),
        "Last Seen": ("2024-05-01T08:00:00.000Z", "date"),
    }


def nothing_sent_state_out(sandbox: Sandbox, run: Run) -> None:
    assert sandbox.stats()["requests_total"] == 0
    assert run.states == [{"bookmark": 1}]


def nothing_sent_no_state(sandbox: Sandbox, run: Run) -> None:
    assert sandbox.stats()["requests_total"] == 0
    assert run.states == []


def trimmed_and_folded(sandbox: Sandbox, run: Run) -> None:
    assert sandbox.lists() == {S: ["good@example.com", "padded@example.com"]}


def composed_and_decomposed_are_one(sandbox: Sandbox, run: Run) -> None:
    assert sandbox.lists() == {S: ["good@example.com", "josé@example.com"]}
    assert run.report["profiles"] == 2


SEGMENTED = {"email": STRING, "seg": {"type": ["array", "string", "null"], "items": {}}}
SEGMENTED_LOOSE = {"email": STRING, "seg": {}}
TYPED = {
    "email": STRING,
    "orders": {"type": ["integer", "string", "null"]},
    "score": {"type": ["number", "string", "null"]},
    "vip": {"type": ["boolean", "string", "null"]},
    "signed_up": {"type": ["string", "null"], "format": "date"},
    "last_seen": {"type": ["string", "null"], "format": "date-time"},
    "code": {"type": ["integer", "null"]},
    "employees": STRING,
    "unsub": {},
    "blob": {},
}
TYPED_MAPPING = {  # the schema allows strings too, so the types are written out
    "integer--Orders": "orders",
    "float--Score": "score",
    "boolean--VIP": "vip",
    "Signed Up": "signed_up",
    "Last Seen": "last_seen",
    "string--Code": "code",
}


def typed(**values: Any) -> dict[str, Any]:
    return record(S, email="bad@example.com", **values)


CASES = [
    # --- the input cannot be read: a clear error before any write ---
    Case(
        "malformed_json_line",
        [*people(), '{"type": "RECORD", "stream": "people", "record": {"email": '],
        ("error", "Input line 3 is not valid JSON"),
    ),
    Case("not_json_at_all", [*people(), "hello, I am not JSON"], ("error", "Input line 3 is not valid JSON")),
    Case(
        "invalid_unicode_escape",
        [*people(), '{"type":"RECORD","stream":"people","record":{"email":"\\udcff"}}'],
        ("error", "Input line 3 is not valid JSON"),
    ),
    Case(
        "json_array_not_object", [*people(), "[1, 2, 3]"], ("error", "Input line 3 is JSON but not a Singer")
    ),
    Case(
        "json_string_not_object", [*people(), '"RECORD"'], ("error", "Input line 3 is JSON but not a Singer")
    ),
    Case(
        "message_without_type",
        [*people(), '{"stream": "people"}'],
        ("error", "Input line 3 is a JSON object without a `type`"),
    ),
    Case(
        "unknown_message_type",
        [*people(), {"type": "UPSERT", "stream": S}],
        ("error", "message type 'UPSERT'"),
    ),
    Case(
        "batch_message_not_taken",
        [
            *people(),
            {
                "type": "BATCH",
                "stream": S,
                "encoding": {"format": "jsonl"},
                "manifest": ["file:///etc/passwd"],
            },
        ],
        ("error", "BATCH message"),
    ),
    Case(
        "deeply_nested_json",
        [
            *people(),
            '{"type":"RECORD","stream":"people","record":{"email":"d@example.com","x":'
            + "[" * 3000
            + "]" * 3000
            + "}}",
        ],
        ("error", "nested too deeply"),
    ),
    Case(
        "record_before_schema",
        [record(S, email="a@example.com"), schema(S, PEOPLE)],
        ("error", "stream 'people' was encountered before a corresponding schema"),
    ),
    Case(
        "record_for_unknown_stream",
        [*people(), record("other", email="a@example.com")],
        ("error", "stream 'other' was encountered before a corresponding schema"),
    ),
    Case(
        "record_not_an_object",
        [*people(), {"type": "RECORD", "stream": S, "record": ["a@example.com"]}],
        ("error", "Input line 3: RECORD message for stream 'people' without a `record` object"),
    ),
    Case(
        "record_without_stream",
        [*people(), {"type": "RECORD", "record": {"email": "a@example.com"}}],
        ("error", "Input line 3: RECORD message without a stream name"),
    ),
    Case(
        "stream_name_not_a_string",
        [{"type": "SCHEMA", "stream": 5, "schema": {"properties": PEOPLE}}],
        ("error", "Input line 1: SCHEMA message without a stream name"),
    ),
    Case(
        "schema_without_properties",
        [{"type": "SCHEMA", "stream": S, "schema": {"type": "object"}}, GOOD],
        ("error", "SCHEMA message for stream 'people' without a `schema` object holding a `properties`"),
    ),
    Case(
        "schema_not_a_json_schema",
        [schema(S, {"email": {"type": "strng"}}), GOOD],
        ("error", "Input line 1: the SCHEMA message's schema is not a valid JSON schema"),
    ),
    Case(
        "state_without_value",
        [*people(), {"type": "STATE"}],
        ("error", "Input line 3: STATE message without a `value`"),
    ),
    Case(
        "activate_version_unknown_stream",
        [*people(), {"type": "ACTIVATE_VERSION", "stream": "x", "version": 1}],
        ("error", "ACTIVATE_VERSION for stream 'x' before its SCHEMA"),
    ),
    # --- stream-level and config problems: a clear error before any write ---
    Case(
        "stream_without_email_column",
        [schema(S, ["name", "phone"]), record(S, name="x", phone="1")],
        (
            "error",
            "Stream 'people' has no email property. Looked for the usual names (email, email_address, "
            "e-mail, …) among: name, phone",
        ),
    ),
    Case(
        "schema_change_drops_email",
        [*people(), schema(S, ["mail", "vorname"]), record(S, mail="b@example.com")],
        ("error", "Stream 'people' has no email property"),
    ),
    Case(
        "mapping_names_missing_property",
        people(),
        ("exported", ""),
        config={"field_mapping": {"FirstName": "frist_name"}},
        check=typo_warned,
    ),
    Case(
        "mapping_email_to_missing_property",
        people(),
        ("error", "maps Email to 'mail', which stream 'people' does not have"),
        config={"field_mapping": {"Email": "mail"}},
    ),
    Case(
        "mapping_key_case_of_standard_field",
        people(),
        ("error", "'firstname' differs from the standard field 'FirstName' only by case"),
        config={"field_mapping": {"firstname": "first_name"}},
    ),
    Case(
        "mapping_unknown_type_prefix",
        people(),
        ("error", "'money--Spend' looks like a custom field"),
        config={"field_mapping": {"money--Spend": "first_name"}},
    ),
    Case(
        "mapping_control_field",
        people(),
        ("error", "'_autopilot_list' is an Autopilot control field"),
        config={"field_mapping": {"_autopilot_list": "first_name"}},
    ),
    Case(
        "mapping_empty_source",
        people(),
        ("error", "field_mapping.FirstName is empty"),
        config={"field_mapping": {"FirstName": " "}},
    ),
    Case(
        "plain_http_to_remote_host",
        people(),
        ("error", "uses plain http:// to a non-loopback host"),
        config={"api_url": "http://api2.autopilothq.com/v1"},
    ),
    Case(
        "plain_http_to_lookalike_host",
        people(),
        ("error", "uses plain http:// to a non-loopback host"),
        config={"api_url": "http://127.0.0.1.example.com/v1"},
    ),
    Case(
        "api_url_not_http",
        people(),
        ("error", "is not an http(s) URL"),
        config={"api_url": "ftp://example.com"},
    ),
    Case(
        "misspelt_setting",
        people(),
        (
            "error",
            "'requests_per_secnd' is not a setting of target-autopilot. Did you mean 'requests_per_second'",
        ),
        config={"requests_per_secnd": 1},
    ),
    Case(
        "unknown_setting_without_a_close_one",
        people(),
        ("error", "'colour' is not a setting of target-autopilot. Nothing was sent"),
        config={"colour": "blue"},
    ),
    Case(
        "load_method_overwrite_is_refused",
        people(),
        ("error", "load_method 'overwrite' is not supported"),
        config={"load_method": "overwrite"},
    ),
    Case(
        "max_rejected_fraction_above_one",
        people(),
        ("error", "max_rejected_fraction is 2: it must be between 0 and 1"),
        config={"max_rejected_fraction": 2},
    ),
    Case("max_profiles_zero", people(), ("error", "max_profiles is 0"), config={"max_profiles": 0}),
    Case(
        "segment_property_blank_setting",
        people(),
        ("error", "segment_property is blank"),
        config={"segment_property": " "},
    ),
    Case(
        "max_removal_fraction_above_one",
        people(),
        ("error", "max_removal_fraction is 1.5: it must be between 0 and 1"),
        config={"max_removal_fraction": 1.5},
    ),
    Case(
        "managed_lists_without_segment_property",
        people(),
        ("error", "managed_lists is set without segment_property"),
        config={"managed_lists": {S: ["VIP"]}},
    ),
    Case(
        "rejected_records_path_is_a_directory",
        people(record(S, email="not-an-email")),
        ("error", "rejected_records_path '/' cannot be written (Is a directory)"),
        config={"rejected_records_path": "/"},
    ),
    # --- a record that cannot be exported: rejected with its reason, the rest lands ---
    Case(
        "email_property_absent",
        people(record(S, first_name="No email")),
        ("rejected", "missing_email"),
        says="no value in the email property 'email'",
    ),
    Case(
        "email_null",
        people(record(S, email=None, first_name="Null")),
        ("rejected", "missing_email"),
        says="no value in the email property 'email'",
    ),
    Case(
        "email_empty",
        people(record(S, email="", first_name="Empty")),
        ("rejected", "missing_email"),
        says="no value in the email property 'email'",
    ),
    Case(
        "email_whitespace",
        people(record(S, email=" \t ", first_name="Blank")),
        ("rejected", "missing_email"),
        says="no value in the email property 'email'",
    ),
    Case(
        "email_invalid",
        people(record(S, email="not-an-email")),
        ("rejected", "invalid_email"),
        says="'not-an-email', which is not a valid email address",
    ),
    Case(
        "email_a_number_untyped_schema",
        people(record(S, email=5), properties={"email": {}}),
        ("rejected", "invalid_email"),
        says="'email' holds '5', which is not a valid email address",
    ),
    Case(
        "email_a_list_untyped_schema",
        people(record(S, email=["a@example.com"]), properties={"email": {}}),
        ("rejected", "invalid_email"),
        says="which is not a valid email address",
    ),
    Case(
        "email_wrong_type_for_schema",
        people(record(S, email=5)),
        ("rejected", "schema_violation"),
        says="does not match the stream's schema at email",
    ),
    Case(
        "value_wrong_type_for_schema",
        people(
            record(S, email="a@example.com", code="x"),
            properties={"email": STRING, "code": {"type": "integer"}},
        ),
        ("rejected", "schema_violation"),
        says="at code: 'x' is not of type 'integer'",
    ),
    Case(
        "segment_property_null",
        segmented(record(S, email="a@example.com", seg=None), properties=SEGMENTED),
        ("rejected", "missing_segment"),
        config={"segment_property": "seg"},
        says="segment_property 'seg' is empty",
    ),
    Case(
        "segment_property_empty_string",
        segmented(record(S, email="a@example.com", seg="  "), properties=SEGMENTED),
        ("rejected", "missing_segment"),
        config={"segment_property": "seg"},
        says="segment_property 'seg' is empty",
    ),
    Case(
        "segment_property_empty_list",
        segmented(record(S, email="a@example.com", seg=[]), properties=SEGMENTED),
        ("rejected", "missing_segment"),
        config={"segment_property": "seg"},
        says="segment_property 'seg' is empty",
    ),
    Case(
        "segment_property_list_of_blanks",
        segmented(record(S, email="a@example.com", seg=["", None]), properties=SEGMENTED_LOOSE),
        ("rejected", "missing_segment"),
        config={"segment_property": "seg"},
        says="segment_property 'seg' is empty",
    ),
    Case(
        "segment_property_absent",
        segmented(record(S, email="a@example.com"), properties=SEGMENTED),
        ("rejected", "missing_segment"),
        config={"segment_property": "seg"},
        says="segment_property 'seg' is empty",
    ),
    Case(
        "segment_property_list_of_numbers",
        segmented(record(S, email="a@example.com", seg=[1, 2]), properties=SEGMENTED_LOOSE),
        ("rejected", "invalid_segment"),
        says="segment_property 'seg' holds '[1, 2]'",
        config={"segment_property": "seg"},
    ),
    Case(
        "segment_property_object",
        segmented(record(S, email="a@example.com", seg={"name": "VIP"}), properties=SEGMENTED_LOOSE),
        ("rejected", "invalid_segment"),
        config={"segment_property": "seg"},
        says="expected a list name or a list of them",
    ),
    Case(
        "integer_field_given_words",
        people(typed(orders="seven"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="'orders' → integer--Orders: 'seven' is not a valid whole number",
        config={"field_mapping": TYPED_MAPPING},
    ),
    Case(
        "integer_field_given_fraction",
        people(typed(orders="2.5"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="integer--Orders: '2.5'",
        config={"field_mapping": TYPED_MAPPING},
    ),
    Case(
        "float_field_given_nan",
        people(typed(score="NaN"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="float--Score: 'NaN' is not a valid number",
        config={"field_mapping": TYPED_MAPPING},
    ),
    Case(
        "boolean_field_given_maybe",
        people(typed(vip="maybe"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="boolean--VIP: 'maybe'",
        config={"field_mapping": TYPED_MAPPING},
    ),
    Case(
        "date_field_given_words",
        people(typed(signed_up="yesterday"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="date--Signed--Up: 'yesterday' is not a valid date",
        config={"field_mapping": TYPED_MAPPING},
    ),
    Case(
        "date_field_given_impossible_date",
        people(typed(signed_up="2023-02-29"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="date--Signed--Up: '2023-02-29'",
        config={"field_mapping": TYPED_MAPPING},
    ),
    Case(
        "date_field_given_impossible_moment_in_utc",
        people(typed(signed_up="2023-02-29T12:00:00Z"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="date--Signed--Up: '2023-02-29T12:00:00Z'",
        config={"field_mapping": TYPED_MAPPING},
    ),
    Case(
        "invalid_value_rejects_the_record_when_asked",
        people(typed(orders="seven"), properties=TYPED),
        ("rejected", "invalid_value"),
        says="'orders' → integer--Orders: 'seven' is not a valid whole number",
        config={"field_mapping": TYPED_MAPPING, "on_invalid_value": "reject_record"},
    ),
    Case(
        "text_field_given_object",
        people(typed(blob={"a": 1}), properties=TYPED),
        ("dropped", "invalid_value"),
        says="'blob' → FirstName",
        config={"field_mapping": {"FirstName": "blob"}},
    ),
    Case(
        "employees_given_fraction",
        people(typed(employees="12.5"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="NumberOfEmployees: '12.5'",
        config={"field_mapping": {"NumberOfEmployees": "employees"}},
    ),
    Case(
        "unsubscribed_given_perhaps",
        people(typed(unsub="perhaps"), properties=TYPED),
        ("dropped", "invalid_value"),
        says="unsubscribed: 'perhaps'",
        config={"field_mapping": {"unsubscribed": "unsub"}},
    ),
    # --- awkward but valid: everything lands, as it should ---
    Case("empty_input", [], ("exported", ""), check=nothing_sent_no_state),
    Case(
        "only_schema_and_state",
        [schema(S, PEOPLE), state({"bookmark": 1})],
        ("exported", ""),
        check=nothing_sent_state_out,
    ),
    Case(
        "sdk_builtin_settings_are_accepted",
        people(),
        ("exported", ""),
        config={"load_method": "upsert", "batch_size_rows": 10, "validate_records": True, "stream_maps": {}},
    ),
    Case("blank_lines_are_skipped", ["", *people(), "   ", ""], ("exported", "")),
    Case(
        "activate_version_is_ignored",
        [*people(), {"type": "ACTIVATE_VERSION", "stream": S, "version": 1}],
        ("exported", ""),
    ),
    Case(
        "schema_change_mid_stream",
        [
            schema(S, PEOPLE),
            record(S, email="early@example.com"),
            schema(S, {"Email Address": STRING, "given_name": STRING, "tier": STRING}),
            record(S, **{"Email Address": "later@example.com", "given_name": "Later", "tier": "gold"}),
        ],
        ("exported", ""),
        config={"field_mapping": {"Tier": "tier"}},
        check=new_schema_applies,
    ),
    Case(
        "mixed_case_duplicates_across_segments",
        [
            schema("a", ["email"]),
            record("a", email="Ada@Example.com"),
            schema("b", ["email"]),
            record("b", email=" ADA@example.COM "),
        ],
        ("exported", ""),
        check=one_profile_two_lists,
    ),
    Case(
        "email_trimmed_and_lower_cased",
        people(record(S, email="\t Padded@EXAMPLE.com \n")),
        ("exported", ""),
        check=trimmed_and_folded,
    ),
    Case(
        "email_composed_and_decomposed_unicode",
        people(
            record(S, email="josé@example.com"),
            record(S, email=unicodedata.normalize("NFD", "José@example.com")),
        ),
        ("exported", ""),
        check=composed_and_decomposed_are_one,
    ),
    Case(
        "unicode_and_emoji_names",
        [
            schema(S, PEOPLE),
            *(
                record(S, email=f"u{i}@example.com", first_name=f, last_name=la)
                for i, (f, la) in enumerate(UNICODE_NAMES)
            ),
        ],
        ("exported", ""),
        check=names_round_trip,
    ),
    Case(
        "very_long_values",
        people(
            record(S, email="long@example.com", first_name=LONG, notes=LONG),
            properties={**PEOPLE, "notes": STRING},
        ),
        ("exported", ""),
        config={"field_mapping": {"Notes": "notes"}},
        check=long_value_intact,
    ),
    Case(
        "numbers_booleans_dates_into_custom_fields",
        people(
            record(
                S,
                email="typed@example.com",
                orders="1,234",
                score=2.5,
                vip="yes",
                signed_up="2024-02-29",
                last_seen="2024-05-01T10:00:00+02:00",
                code=42,
            ),
            record(
                S,
                email="typed2@example.com",
                orders=7,
                score="3",
                vip=False,
                signed_up="2024-05-01T08:00:00Z",
                last_seen="2024-05-01T08:00:00+00:00",
            ),
            properties=TYPED,
        ),
        ("exported", ""),
        config={"field_mapping": TYPED_MAPPING},
        check=typed_custom_fields,
    ),
]


def test_the_corpus_has_at_least_30_cases_with_unique_ids() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


def test_every_case_says_what_its_message_must_hold() -> None:
    """An empty expectation is in every message: each error and rejection names part of its message."""
    vague = [
        case.id
        for case in CASES
        if (case.expected[0] == "error" and not case.expected[1])
        or (case.expected[0] in ("rejected", "dropped") and not case.says)
    ]
    assert vague == []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, sandbox: Sandbox, run_target: RunTarget) -> None:
    kind, expected = case.expected
    # A dropped case's one bad value is all its field is given: let it through the guard for wrong mappings.
    allow = {"max_dropped_fraction": 1} if kind == "dropped" else {}
    run = run_target(target_config(sandbox, **allow, **case.config), case.lines)

    assert "Traceback" not in run.stderr, run.stderr
    if kind == "error":
        assert run.code != 0
        assert expected in run.stderr, run.stderr
        assert sandbox.stats()["requests_total"] == 0
        if "api_url" in case.config:  # not the sandbox: the stats above cannot see a request there
            assert not re.search(r"retry|connect|request", run.stderr, re.IGNORECASE), run.stderr
        assert run.stdout == ""
        return
    assert run.code == 0, run.stderr
    rejected = run.rejected
    if kind == "dropped":
        assert_only_the_value_dropped(rejected, case.says, sandbox, run)
        rejected = []  # the record itself was exported
    if kind == "rejected":
        assert [line["reason"] for line in rejected] == [expected], rejected
        assert case.says in rejected[0]["message"]
        assert all(line["stream"] == S and line["message"] for line in rejected)
    else:
        assert rejected == []
    assert_nothing_silently_dropped(case.lines, rejected, sandbox, run)
    if case.check is not None:
        case.check(sandbox, run)


def assert_only_the_value_dropped(
    rejected: list[dict[str, Any]], says: str, sandbox: Sandbox, run: Run
) -> None:
    """One rejected line for the value; its person is in Autopilot, in their list, without the field."""
    [line] = rejected
    assert (line["reason"], line["stream"]) == ("invalid_value", S)
    assert says in line["message"]
    assert line["value"] == line["record"][line["property"]]
    contact = sandbox.contact(line["record"]["email"])
    assert contact is not None, "the person was dropped with the value"
    field = line["field"]
    name = field.split("--", 1)[1].replace("--", " ") if "--" in field else field
    assert contact.get(field) in (None, False)  # the sandbox shows `unsubscribed: false` for everyone
    assert name not in custom_fields(contact)
    assert line["record"]["email"] in sandbox.lists()[S]
    assert run.report["values_dropped"] == 1


def assert_nothing_silently_dropped(
    lines: list[Message], rejected: list[dict[str, Any]], sandbox: Sandbox, run: Run
) -> None:
    """Every input record is either in the rejected file or, by its email, in Autopilot."""
    records = [m["record"] for m in lines if isinstance(m, dict) and m.get("type") == "RECORD"]
    unmatched = Counter(_key(line["record"]) for line in rejected)
    landed = 0
    for item in records:
        if unmatched[_key(item)] > 0:
            unmatched[_key(item)] -= 1
            continue
        emails = [v for v in item.values() if isinstance(v, str) and "@" in v]
        assert any(sandbox.contact(unicodedata.normalize("NFC", e.strip())) for e in emails), item
        landed += 1
    assert +unmatched == Counter(), f"rejected lines that match no input record: {+unmatched}"
    assert landed + len(rejected) == len(records)
    if rejected:
        assert sandbox.contact("good@example.com") is not None, "the good record of the input did not land"
    if records:
        assert run.report["records"] == len(records)
        assert sum(run.report["rejected"].values()) == len(rejected)


def _key(item: dict[str, Any]) -> str:
    return repr(sorted(item.items()))


# --- the email address table: one run, one outcome per address ---

ADDRESSES: list[tuple[str, str | None]] = [
    # valid (RFC 5322 atoms, RFC 3696 §3 examples, RFC 6531 internationalised addresses)
    ("user@example.com", "user@example.com"),
    ("user+tag@example.com", "user+tag@example.com"),
    ("o'brien@example.com", "o'brien@example.com"),
    ("customer/department=shipping@example.com", "customer/department=shipping@example.com"),
    ("$A12345@example.com", "$a12345@example.com"),
    ("!def!xyz%abc@example.com", "!def!xyz%abc@example.com"),
    ("_somename@example.com", "_somename@example.com"),
    ("!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"),
    ("first.last@sub.example.co.uk", "first.last@sub.example.co.uk"),
    ("1@example.com", "1@example.com"),
    ("  Padded@Example.com \t", "padded@example.com"),
    ("UPPER@EXAMPLE.COM", "upper@example.com"),
    ("jörg@example.com", "jörg@example.com"),
    ("用户@例子.广告", "用户@例子.广告"),
    ("user@bücher.example", "user@bücher.example"),
    ("other@xn--bcher-kva.example", "other@bücher.example"),
    ("l" * 64 + "@example.com", "l" * 64 + "@example.com"),
    ("m" * 65 + "@example.com", "m" * 65 + "@example.com"),
    # invalid
    ('"john..doe"@example.com', None),  # quoted local part: valid in RFC 5322, refused by default
    ('"Abc@def"@example.com', None),
    ("Abc\\@def@example.com", None),
    ("Fred\\ Bloggs@example.com", None),
    ("a@b", None),  # no dot in the domain
    ("user@localhost", None),
    ("user@[192.168.0.1]", None),  # domain literal
    ("user@[IPv6:2001:db8::1]", None),
    ("user@123.123.123.123", None),
    ("user@example.com.", None),  # trailing dot
    ("john..doe@example.com", None),  # double dot
    (".john@example.com", None),
    ("john.@example.com", None),
    ("john doe@example.com", None),  # space inside
    ("user@example..com", None),
    ("user@-example.com", None),
    ("user@exa_mple.com", None),
    ("@example.com", None),
    ("user@", None),
    ("plainaddress", None),
    ("user@@example.com", None),
    ("User Name <user@example.com>", None),
    ("mailto:user@example.com", None),
    ("user@example.test", None),
    ("user@example.invalid", None),
    ("x" * 64 + "@" + ".".join(["d" * 63] * 3) + ".com", None),  # 260 octets: over the 254 limit
]


@pytest.fixture(scope="module")
def email_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Run]]:
    """One run of the CLI over every address of `ADDRESSES`."""
    with run_sandbox(rate_limit=0) as sandbox:
        lines: list[Message] = [schema("emails", ["email", "n"])]
        lines += [record("emails", email=address, n=str(i)) for i, (address, _) in enumerate(ADDRESSES)]
        # Most of these addresses are invalid on purpose: the run must not fail for its rejections.
        config = target_config(sandbox, max_rejected_fraction=1)
        run = run_cli(tmp_path_factory.mktemp("emails"), config, lines)
        assert run.code == 0, run.stderr
        yield sandbox, run


@pytest.mark.parametrize(("address", "expected"), ADDRESSES, ids=[a[:40] for a, _ in ADDRESSES])
def test_email_address(address: str, expected: str | None, email_run: tuple[Sandbox, Run]) -> None:
    sandbox, run = email_run
    rejections = [line for line in run.rejected if line["record"]["email"] == address]
    if expected is None:
        assert [line["reason"] for line in rejections] == ["invalid_email"]
        assert sandbox.contact(address.strip()) is None
    else:
        assert rejections == []
        contact = sandbox.contact(expected)
        assert contact is not None
        assert contact["Email"] == expected
        assert expected in sandbox.lists()["emails"]
