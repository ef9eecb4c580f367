"""The Meltano Hub definition (meltano-hub/target-autopilot.yml) says what `target-autopilot --about` says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.target.support import TARGET

ROOT = Path(__file__).resolve().parents[2]
HUB_FILE = ROOT / "meltano-hub" / "target-autopilot.yml"
# JSON schema type -> the Hub's `kind`.
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "object": "object",
}
# Capabilities the SDK reports that Meltano has no name for.
NOT_MELTANO_CAPABILITIES = {"validate-records"}


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    out = subprocess.run([TARGET, "--about", "--format", "json"], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


@pytest.fixture(scope="module")
def hub() -> dict[str, Any]:
    return dict(yaml.safe_load(HUB_FILE.read_text(encoding="utf-8")))


def about_settings(about: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """--about's settings by the Hub's names: an object with declared properties is listed by its leaves
    (`faker_config.seed`), as the Hub does."""
    flat: dict[str, dict[str, Any]] = {}
    for name, prop in about["settings"]["properties"].items():
        if name == "stream_maps" or not prop.get("properties"):
            flat[name] = prop
        else:
            flat.update({f"{name}.{sub}": subprop for sub, subprop in prop["properties"].items()})
    return flat


def test_identity_matches_the_package(hub: dict[str, Any], about: dict[str, Any]) -> None:
    assert (hub["name"], hub["namespace"], hub["executable"]) == (
        about["name"],
        "target_autopilot",
        about["name"],
    )
    assert hub["pip_url"] == "target-autopilot"
    for key in ("variant", "label", "description", "docs", "repo", "keywords"):
        assert hub[key], f"{key} is empty"
    assert set(hub["capabilities"]) == set(about["capabilities"]) - NOT_MELTANO_CAPABILITIES


def test_every_setting_of_about_is_described_alike(hub: dict[str, Any], about: dict[str, Any]) -> None:
    expected = about_settings(about)
    settings = {setting["name"]: setting for setting in hub["settings"]}
    assert list(settings) == list(expected), "settings differ from --about (names or order)"
    for name, prop in expected.items():
        setting = settings[name]
        assert setting["label"], name
        assert setting["description"] == prop.get("description", ""), name
        assert setting.get("value") == prop.get("default"), name
        assert setting.get("sensitive", False) == prop.get("secret", False), name
        if "enum" in prop:
            assert setting["kind"] == "options", name
            assert [option["value"] for option in setting["options"]] == prop["enum"], name
        elif "type" in prop:
            types = [t for t in prop["type"] if t != "null"]
            assert setting["kind"] == KINDS[types[0]], name


def test_the_key_is_the_only_sensitive_setting_and_is_required(hub: dict[str, Any]) -> None:
    assert [s["name"] for s in hub["settings"] if s.get("sensitive")] == ["api_key"]
    assert hub["settings_group_validation"] == [["api_key"]]
