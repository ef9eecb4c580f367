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
    # Meltano 4.4 cannot pass a `decimal` given by environment variable (Decimal is not JSON
    # serializable): numbers are strings to Meltano, and the target reads "0.5" as 0.5.
    "number": "string",
    "boolean": "boolean",
    "object": "object",
}


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
    assert sorted(hub["capabilities"]) == sorted(about["capabilities"])


def test_every_setting_of_about_is_described_alike(hub: dict[str, Any], about: dict[str, Any]) -> None:
    expected = about_settings(about)
    settings = {setting["name"]: setting for setting in hub["settings"]}
    assert list(settings) == list(expected), (
        "settings differ from --about: run `python -m tests.release.test_hub_definition` to rewrite them"
    )
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


def rewrite_hub_settings() -> None:
    """Rewrite the Hub file's settings from `--about`, keeping the labels already written.

    A new setting gets a label made from its name, and its options the labels `meltano.yml` gives them.
    """
    about = json.loads(
        subprocess.run(
            [TARGET, "--about", "--format", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    text = HUB_FILE.read_text(encoding="utf-8")
    head, _ = text.split("\nsettings:\n", 1)
    hub = dict(yaml.safe_load(text))
    written = {setting["name"]: setting for setting in hub["settings"]}
    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    loader = next(p for p in meltano["plugins"]["loaders"] if p["name"] == "target-autopilot")
    option_labels = {
        (s["name"], o["value"]): o["label"] for s in loader.get("settings", []) for o in s.get("options", [])
    }
    settings = []
    for name, prop in about_settings(about).items():
        old = written.get(name, {})
        setting: dict[str, Any] = {"name": name, "label": old.get("label") or name.replace("_", " ").title()}
        if "enum" in prop:
            setting["kind"] = "options"
        elif "type" in prop:
            setting["kind"] = KINDS[next(t for t in prop["type"] if t != "null")]
        elif "kind" in old:  # a union type (faker's settings): the kind written by hand stands
            setting["kind"] = old["kind"]
        if prop.get("description"):
            setting["description"] = prop["description"]
        if prop.get("secret"):
            setting["sensitive"] = True
        if prop.get("default") is not None:
            setting["value"] = prop["default"]
        if "enum" in prop:
            labels = {o["value"]: o["label"] for o in old.get("options", [])}
            setting["options"] = [
                {"label": labels.get(v) or option_labels.get((name, v)) or str(v), "value": v}
                for v in prop["enum"]
            ]
        settings.append(setting)
    rest = {key: value for key, value in hub.items() if key not in yaml.safe_load(head) and key != "settings"}
    dumped = yaml.safe_dump({"settings": settings, **rest}, sort_keys=False, allow_unicode=True, width=110)
    HUB_FILE.write_text(f"{head}\n{dumped}", encoding="utf-8")


if __name__ == "__main__":  # python -m tests.release.test_hub_definition
    rewrite_hub_settings()
