"""The `autopilot-sandbox` command: `serve` (the default) runs a sandbox, `show` prints one's lists."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence

from target_autopilot.sandbox.config import (
    DEFAULT_FAULT_KINDS,
    FAULT_KINDS,
    SandboxConfig,
    parse_fault_kinds,
)
from target_autopilot.sandbox.exposure import TOKEN_ENV, is_loopback
from target_autopilot.sandbox.guard import TOKEN_HEADER
from target_autopilot.sandbox.server import Sandbox, SandboxControl, SandboxError

DEFAULT_PORT = 8787
_DEFAULTS = SandboxConfig()


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except empty ones whose help text already says what happens."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["show"]:
        try:
            code = show(show_parser().parse_args(args[1:]))
            sys.stdout.flush()
        except BrokenPipeError:  # `autopilot-sandbox show | head`: the reader has all it wanted
            # Python would report the pipe again when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return code
    if args[:1] == ["serve"]:
        args = args[1:]
    return serve(serve_parser().parse_args(args))


def serve_parser() -> argparse.ArgumentParser:
    """Options of `autopilot-sandbox [serve]`."""
    parser = argparse.ArgumentParser(
        prog="autopilot-sandbox [serve]",
        description="A local stand-in for both Autopilot APIs at once, on one port: Autopilot "
        "Classic (api2.autopilothq.com/v1: /v1/contact, /v1/lists, ..., key header autopilotapikey) "
        "and today's Autopilot, i.e. Ortto (api.ap3api.com/v1: POST /v1/person/merge, "
        "/v1/person/get, /v1/person/custom-field/get|create, /v1/tags/get, /v1/audiences/get, "
        "PUT /v1/audience/subscribe; key header X-Api-Key). Paths, bodies, errors and rate limits "
        "as documented, switches for the behaviours the references leave open, fault injection "
        "and a control API and browsable page under /_sandbox/.",
        epilog="Also: `autopilot-sandbox show --url URL` prints a running sandbox's lists and tags "
        "with their member and holder counts; http://HOST:PORT/_sandbox/ browses them. Every setting "
        "but host, port, api-key, ortto-api-key and db can be changed while running: POST "
        '/_sandbox/config with a JSON object, e.g. {"fault_rate": 0.1}. Options cannot be abbreviated.',
        formatter_class=_HelpFormatter,
        allow_abbrev=False,
    )
    add = parser.add_argument
    add("--host", default=_DEFAULTS.host, help="interface to listen on; any but loopback needs "
        "--control-token and keys of your own (--api-key)")  # fmt: skip
    add("--control-token", metavar="TOKEN",
        help="secret that every request to /_sandbox/ (control API and pages) must carry, in the "
        f"{TOKEN_HEADER} header or through the login page's cookie (default: the {TOKEN_ENV} "
        "environment variable, which keeps it out of the process list; none: /_sandbox/ is open, "
        "loopback only)")  # fmt: skip
    add("--port", type=int, default=DEFAULT_PORT, help="TCP port (0 picks a free one)")
    add("--api-key", dest="api_keys", action="append", metavar="KEY",
        help="accepted API key, repeatable; each key is its own isolated account "
        f"(default: {_DEFAULTS.api_keys[0]})")  # fmt: skip
    add("--db", metavar="PATH", help="SQLite file that keeps the data across restarts "
        "(default: in memory)")  # fmt: skip
    add("--rate-limit", type=int, default=_DEFAULTS.rate_limit, metavar="R",
        help="requests admitted per API key in any one-second window; over it: 429. 0 = off")  # fmt: skip
    add("--retry-after", action="store_true", help="add a Retry-After header to 429 answers")
    add("--latency-ms", type=float, default=_DEFAULTS.latency_ms, metavar="N",
        help="delay before handling each API request")  # fmt: skip
    add("--latency-jitter-ms", type=float, default=_DEFAULTS.latency_jitter_ms, metavar="J",
        help="random extra delay, uniform in ±J")  # fmt: skip
    add("--spike-rate", type=float, default=_DEFAULTS.spike_rate, metavar="F",
        help="fraction of API requests delayed by a latency spike")  # fmt: skip
    add("--spike-ms", type=float, default=_DEFAULTS.spike_ms, metavar="MS",
        help="length of a latency spike")  # fmt: skip
    add("--fault-rate", type=float, default=_DEFAULTS.fault_rate, metavar="F",
        help="fraction of admitted API requests answered with an injected fault")  # fmt: skip
    add("--fault-kinds", type=parse_fault_kinds, default=",".join(DEFAULT_FAULT_KINDS), metavar="LIST",
        help=f"comma list of injected faults, from {','.join(FAULT_KINDS)} (drop: the "
        "connection is closed without an answer)")  # fmt: skip
    add("--fault-after-apply", type=float, default=_DEFAULTS.fault_after_apply, metavar="F",
        help="fraction of injected faults that happen after the change was applied")  # fmt: skip
    add("--seed", type=int, metavar="S",
        help="seed for faults, latency and shuffled answers, for repeatable runs "
        "(default: unseeded)")  # fmt: skip
    add("--bulk-list-assignment", choices=("on", "off"), default=_DEFAULTS.bulk_list_assignment,
        help="honour _autopilot_list inside POST /contacts items (off: silently ignored)")  # fmt: skip
    add("--duplicate-list-names", choices=("conflict", "allow"),
        default=_DEFAULTS.duplicate_list_names,
        help="POST /list with an existing title: 409, or a second list with that title")  # fmt: skip
    add("--custom-fields", choices=("auto-create", "must-exist"), default=_DEFAULTS.custom_fields,
        help="an unknown custom field is created on first write, or refused with a 400")  # fmt: skip
    add("--bulk-partial-failure", choices=("reject-batch", "skip-item"),
        default=_DEFAULTS.bulk_partial_failure,
        help="a bad item in POST /contacts fails the whole request (400), or is left out")  # fmt: skip
    add("--bulk-contact-map", choices=("on", "off"), default=_DEFAULTS.bulk_contact_map,
        help="POST /contacts answers email_contact_map beside contact_ids (off: only "
        "contact_ids, which under skip-item list only the stored contacts)")  # fmt: skip
    add("--run-gap-seconds", type=float, default=_DEFAULTS.run_gap_seconds, metavar="S",
        help="a pause longer than this between an account's API requests ends a run, for the "
        "pages' runs (who joined and who left each list and tag)")  # fmt: skip
    add("--refuse", action="append", metavar="ENDPOINT",
        help="answer every request to this endpoint with 403, repeatable, e.g. "
        "'DELETE /v1/list/{list_id}/contact/{contact}' (default: none)")  # fmt: skip
    _add_ortto_options(parser.add_argument_group(
        "Ortto (today's Autopilot)",
        "Ortto's own keys, limits and a switch for each point its reference leaves OPEN. RECORDED "
        "(answers of a real account, phpdevkits/ortto-sdk fixtures, and the defaults here): tags as "
        "u4s::t integer ids counted per tag type (an account tag 'My organization' sits beside the "
        "person tags), the $u4s::is tag filter, 'Object not found' for an unknown field id, "
        "'Unknown operation' for an unknown operator, tags/get and custom-field/get item keys, "
        "person/get leaving unset fields out and its end-of-pages and bad-cursor answers, the "
        "suppression answers of merge, subscribe echoing a non-member. Everything else, and every "
        "non-default switch position, is a reading of the docs. Audiences "
        "have no public create endpoint: make them with POST /_sandbox/ortto/audiences "
        '{"name", "tag"} (members: the holders of the tag); suppressed emails with POST '
        '/_sandbox/ortto/suppressed {"email"}.',
    ))  # fmt: skip
    return parser


def _add_ortto_options(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--ortto-api-key", dest="ortto_api_keys", action="append", metavar="KEY",
        help="key accepted in X-Api-Key, repeatable; a key given to both APIs is one account "
        "(default: the --api-key keys)")  # fmt: skip
    add("--ortto-rate-limit", type=int, default=_DEFAULTS.ortto_rate_limit, metavar="R",
        help="Ortto requests admitted per key in any one-second window; over it: 429 with "
        '{"error": {"code": "rate-limit", "try-in-seconds": 1}}. 0 = off')  # fmt: skip
    add("--ortto-ban", choices=("on", "off"), default=_DEFAULTS.ortto_ban,
        help="bad-request limiter: 15 Ortto 4xx answers (429 aside) to one client IP within 15 s "
        "earn it a 15 s ban, answered 429")  # fmt: skip
    add("--ortto-mixed-batch", choices=("per-person", "reject", "reject-unaligned"),
        default=_DEFAULTS.ortto_mixed_batch,
        help="a merge with some invalid people: 200 with per-person statuses, or 400 for the "
        "whole request (nothing applied) whose details hold one entry per person in request order "
        "(reject; unless --ortto-people-order shuffled) or one per refused person only "
        "(reject-unaligned). All invalid is a 400 either way")  # fmt: skip
    add("--ortto-people-order", choices=("request", "shuffled"), default=_DEFAULTS.ortto_people_order,
        help="order of a merge answer's per-person entries (a 200's people, a 400's details): as in "
        "the request, or shuffled (seeded by --seed)")  # fmt: skip
    add("--ortto-tag-filter", choices=("u4s-is", "set-contains", "tag-id", "none", "ignored"),
        default=_DEFAULTS.ortto_tag_filter,
        help='the one person/get filter that selects a tag\'s holders: u4s-is is the RECORDED one, '
        '{"$u4s::is": {"field_id": "u4s::t", "value": TAG_ID}} (integer id); set-contains '
        '{"$str::set_contains": {"field_id": "tags", "value": NAME}} and tag-id {"$id_set_is": '
        '{"field_id": "u4s::t", "value": TAG_ID}} are readings of the docs; none takes no tag filter; '
        "ignored takes the recorded one but answers everyone. A tag operator not taken is the "
        'recorded 400 "Unknown operation"')  # fmt: skip
    add("--ortto-async", choices=("queued", "applied"), default=_DEFAULTS.ortto_async,
        help='merge with "async": true is answered {"status": "queued", "people": []} before the '
        "change is applied (after --ortto-async-delay-ms), or answered as a sync merge")  # fmt: skip
    add("--ortto-async-delay-ms", type=float, default=_DEFAULTS.ortto_async_delay_ms, metavar="MS",
        help="how long a queued async merge waits before it is applied")  # fmt: skip
    add("--ortto-default-async", choices=("sync", "async"), default=_DEFAULTS.ortto_default_async,
        help='what a merge that omits "async" gets from the data source\'s defaults: a sync merge, or '
        'one handled exactly like "async": true (see --ortto-async)')  # fmt: skip
    add("--ortto-default-merge-by", choices=("str::email", "str::ei"),
        default=_DEFAULTS.ortto_default_merge_by,
        help='the data source\'s default merge key, used when a merge omits "merge_by". With str::ei '
        "(External ID) a person without one matches nobody and is created again, beside whoever "
        "holds the same email")  # fmt: skip
    add("--ortto-field-limit", type=int, default=_DEFAULTS.ortto_field_limit, metavar="N",
        help="custom person fields per account; custom-field/create over it: 400")  # fmt: skip


def show_parser() -> argparse.ArgumentParser:
    """Options of `autopilot-sandbox show`."""
    parser = argparse.ArgumentParser(
        prog="autopilot-sandbox show",
        description="Print the lists and Ortto tags of a running sandbox, with their counts, per account.",
        formatter_class=_HelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="sandbox root URL")
    parser.add_argument("--control-token", metavar="TOKEN",
        help=f"the sandbox's control token, if it has one (default: the {TOKEN_ENV} "
        "environment variable)")  # fmt: skip
    return parser


def config_from(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the serve options describe."""
    options = vars(args)
    options["api_keys"] = tuple(options["api_keys"] or _DEFAULTS.api_keys)
    if options["ortto_api_keys"] is not None:
        options["ortto_api_keys"] = tuple(options["ortto_api_keys"])
    options["refuse"] = tuple(options["refuse"] or ())
    options["control_token"] = _control_token(args)
    return SandboxConfig(**options)


def _control_token(args: argparse.Namespace) -> str | None:
    token: str | None = args.control_token
    return os.environ.get(TOKEN_ENV) if token is None else token


def serve(args: argparse.Namespace) -> int:
    """Run a sandbox in the foreground until interrupted."""
    try:
        config = config_from(args)
    except ValueError as error:
        print(f"autopilot-sandbox: {error}", file=sys.stderr)
        return 2
    with Sandbox(config) as sandbox:
        print(
            f"Autopilot sandbox: API {sandbox.base_url} ({len(config.api_keys)} Classic and "
            f"{len(config.ortto_keys)} Ortto API key(s)), "
            f"control {sandbox.url}/_sandbox/. {_exposure(config)}. Ctrl-C stops.",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("Stopped.")
    return 0


def _exposure(config: SandboxConfig) -> str:
    """Where it listens and whether /_sandbox/ is protected (never the token itself)."""
    where = (
        f"Listening on {config.host} (loopback only)"
        if is_loopback(config.host)
        else f"Listening on {config.host or 'every interface'}, reachable from other machines"
    )
    if config.control_token is None:
        return f"{where}; control API open (no --control-token)"
    return f"{where}; control API protected by the control token"


def show(args: argparse.Namespace) -> int:
    """Print every account's lists and Ortto tags with member and holder counts."""
    try:
        dump = SandboxControl(args.url, control_token=_control_token(args)).dump()
    except OSError as error:
        print(f"autopilot-sandbox: no sandbox at {args.url}: {error}", file=sys.stderr)
        return 1
    except SandboxError as error:
        print(f"autopilot-sandbox: {error}", file=sys.stderr)
        return 1
    for account in dump["accounts"]:
        print(
            f"Account {account['index']} ({account['account_id']}): "
            f"{len(account['contacts'])} contacts, {len(account['lists'])} lists"
        )
        for item in account["lists"]:
            print(f"  {item['title']}  {len(item['members'])} members  ({item['list_id']})")
        ortto = account["ortto"]
        print(f"  Ortto: {len(ortto['people'])} people, {len(ortto['tags'])} tags")
        for tag in ortto["tags"]:
            print(f"  tag {tag['name']}  {len(tag['holders'])} holders  ({tag['tag_id']})")
    return 0
