"""One process, both APIs: keys kept apart, persistence across a restart, dump, CLI, `show`."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import requests

from target_autopilot.sandbox import sandbox_process
from target_autopilot.sandbox.cli import main

from ..conftest import Api
from .conftest import Ortto, person


def test_both_apis_in_one_process_with_their_keys_apart(sandbox_factory) -> None:
    sandbox = sandbox_factory(api_keys=("classic-key", "both-key"), ortto_api_keys=("ortto-key", "both-key"))
    classic, ortto = Api(sandbox.base_url, "classic-key"), Ortto(sandbox, "ortto-key")
    assert classic.get("/lists").status_code == 200
    assert ortto.post("/tags/get", json={}).status_code == 200
    assert classic.get("/lists", key="ortto-key").status_code == 401
    assert ortto.post("/tags/get", key="classic-key", json={}).status_code == 401
    both = Ortto(sandbox, "both-key")
    both.merged(person("o@example.com", tags=["T"]))
    Api(sandbox.base_url, "both-key").upsert(Email="c@example.com")
    accounts = sandbox.dump()["accounts"]
    assert len(accounts) == 3
    shared = accounts[1]
    assert [c["Email"] for c in shared["contacts"]] == ["c@example.com"]
    assert [p["fields"]["str::email"] for p in shared["ortto"]["people"]] == ["o@example.com"]
    assert accounts[2]["ortto"]["people"] == []
    assert "both-key" not in str(accounts)


def test_data_survives_a_restart(sandbox_factory, tmp_path: Path) -> None:
    sandbox = sandbox_factory(db=str(tmp_path / "sandbox.db"))
    ortto = Ortto(sandbox)
    field_id = ortto.field("Orders", "integer")
    (created,) = ortto.merged(person("a@example.com", tags=["seg:A"], **{field_id: 3}))
    audience = sandbox.create_audience("A", "seg:A")
    sandbox.suppress("no@example.com")
    ortto.merged(person("a@example.com", **{"str::first": "Ann"}))
    classic = Api(sandbox.base_url, sandbox.api_key)
    classic.upsert(Email="c@example.com", _autopilot_list=classic.new_list("Kept"))
    sandbox.restart()
    assert sandbox.lists() == {"Kept": ["c@example.com"]}  # one file holds both APIs' data
    assert sandbox.tags() == {"seg:A": ["a@example.com"]}
    stored = sandbox.person("a@example.com")
    assert stored is not None
    assert (stored["person_id"], stored["fields"][field_id], stored["fields"]["str::first"]) == (
        created["person_id"], 3, "Ann",
    )  # fmt: skip
    assert ortto.emails(audience_id=audience) == ["a@example.com"]
    assert ortto.merged(person("a@example.com"))[0]["status"] == "merged"
    gone = ortto.merge(person("no@example.com"), suppression_list_field_id="str::email")
    assert gone.status_code == 400


def test_concurrent_merges_lose_nothing(sandbox_factory) -> None:
    sandbox = sandbox_factory()

    def client(worker: int) -> None:
        own = Ortto(sandbox)
        for batch in range(3):
            own.merged(*[person(f"w{worker}-{batch}-{n}@example.com", tags=["busy"]) for n in range(50)])

    workers = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(sandbox.tags()["busy"]) == 6 * 3 * 50


def test_cli_serves_ortto_with_its_options_and_takes_no_abbreviations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = ("--ortto-api-key", "ok", "--ortto-rate-limit", "2", "--ortto-tag-filter", "none")
    defaults = ("--ortto-default-async", "async", "--ortto-default-merge-by", "str::ei")
    with sandbox_process(*options, *defaults) as (control, _process):
        config = control.config()
        assert (config["ortto_rate_limit"], config["ortto_tag_filter"], config["ortto_accounts"]) == (
            2,
            "none",
            1,
        )
        assert (config["ortto_default_async"], config["ortto_default_merge_by"]) == ("async", "str::ei")
        url = control.base_url + "/tags/get"
        codes = [
            requests.post(url, json={}, headers={"X-Api-Key": "ok"}, timeout=5).status_code for _ in range(3)
        ]
        assert codes == [200, 200, 429]
    for wrong in (["--api", "ortto"], ["--ortto-rate", "1"], ["--no-such-option"]):
        with pytest.raises(SystemExit):
            main(wrong)
        assert "unrecognized arguments" in capsys.readouterr().err


def test_help_documents_the_ortto_surface(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    documented = ["X-Api-Key", "/v1/person/merge", "try-in-seconds", "/_sandbox/ortto/audiences"]
    documented += [f"(default: {value})" for value in ("per-person", "u4s-is", "queued", "on")]
    documented += ["RECORDED", "reading of the docs", '"$u4s::is"', "Object not found", "Unknown operation"]
    for item in documented:
        assert item in text


def test_show_prints_ortto_tags(sandbox_factory, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = sandbox_factory()
    Ortto(sandbox).merged(person("a@example.com", tags=["seg:A"]), person("b@example.com", tags=["seg:A"]))
    assert main(["show", "--url", sandbox.url]) == 0
    out = capsys.readouterr().out
    assert "Ortto: 2 people, 1 tags" in out
    assert re.search(r"tag seg:A\s+2 holders", out)
