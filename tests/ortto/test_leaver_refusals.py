"""A 200 to a merge of leavers whose applied ids cannot be checked: none of them is told removed."""

from __future__ import annotations

import unicodedata

import requests

from target_autopilot.sandbox import Sandbox
from tests.ortto.conftest import merges, ortto_config
from tests.target.support import RunTarget, record, schema

KEPT = [f"k{i}@example.com" for i in range(8)]
NFD = unicodedata.normalize("NFD", "zoé@example.com")  # sent as NFC: not found, so `ignored` (no id)
LONG = "İ" + "a" * 242 + "@example.com"  # 255 characters; lower case makes 256, so `invalid`


def tagged(sandbox: Sandbox, emails: list[str]) -> None:
    answer = requests.post(
        f"{sandbox.base_url}/person/merge",
        headers={"X-Api-Key": sandbox.api_key},
        json={"people": [{"fields": {"str::email": email}, "tags": ["vip"]} for email in emails]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_a_refusal_beside_a_leaver_without_an_id_leaves_every_leaver_unremoved_and_told(
    sandbox: Sandbox, run_target: RunTarget
) -> None:
    tagged(sandbox, [*KEPT, NFD, LONG])
    sandbox.reset_stats()
    config = ortto_config(sandbox, sync_mode="mirror", complete_streams="sent")

    run = run_target(config, [schema("vip", ["email"]), *(record("vip", email=email) for email in KEPT)])

    assert run.code == 0, run.stderr
    message = (
        "Ortto answered refused: Ortto refused 1 of a batch of 2 (1 invalid) without saying who; this "
        "person may not be one of them. Sent again on the next run"
    )
    assert sorted((line["record"]["email"], line["reason"], line["message"]) for line in run.rejected) == [
        (LONG.lower(), "removal_rejected", message),
        (unicodedata.normalize("NFC", NFD), "removal_rejected", message),
    ]
    assert run.report["rejected"] == {"removal_rejected": 2}
    assert run.report["segments"]["vip"]["removed"] == 0
    assert merges(sandbox.stats()) == {"200": 1}
    assert run.report["requests"]["by_endpoint"] == {
        "POST /tags/get": 1,
        "POST /person/get": 1,
        "POST /person/merge": 1,
    }
    assert len(sandbox.people()) == len(KEPT) + 2  # a leaver not found is not created
    assert sandbox.stats()["merge_sizes"] == {"2": 1}
    assert sorted(sandbox.tags()["vip"]) == sorted([*KEPT, NFD, LONG])
