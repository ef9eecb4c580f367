"""A field Autopilot does not store yet makes a contact changed, even when every other field is equal."""

from __future__ import annotations

from target_autopilot.sandbox import Sandbox
from tests.target.support import RunTarget, record, requests_to, schema, target_config


def test_a_newly_mapped_field_is_sent_to_contacts_stored_without_it(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    config = target_config(sandbox)
    assert run_target(config, [schema("vip", ["email"]), record("vip", email="a@example.com")]).code == 0
    sandbox.reset_stats()

    run = run_target(
        config,
        [schema("vip", ["email", "first_name"]), record("vip", email="a@example.com", first_name="Ada")],
    )

    assert run.code == 0, run.stderr
    assert (run.report["unchanged"], run.report["segments"]["vip"]["upserted"]) == (0, 1)
    assert requests_to(sandbox.stats(), "POST /v1/contacts") == 1
    stored = sandbox.contact("a@example.com") or {}
    assert stored["FirstName"] == "Ada"
