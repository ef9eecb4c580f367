"""What the target says as it starts: where it sends, the settings in effect, variables it does not know."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from target_autopilot.settings import Settings

PREFIX = "TARGET_AUTOPILOT_"
# Read by the Singer SDK itself (the log level), not settings.
SDK_VARIABLES = frozenset({"LOGLEVEL"})


def host_and_port(url: str) -> str:
    """`api.ap3api.com:443` for `https://api.ap3api.com/v1`."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def log_start(logger: logging.Logger, settings: Settings, config: Mapping[str, Any]) -> None:
    """Log the API and host the run talks to, then every number and yes/no setting in effect (not the key)."""
    logger.info(
        "Sending to %s (api: %s, %s)%s",
        host_and_port(settings.api_url),
        settings.api,
        settings.api_url,
        "; dry run: nothing will be written" if settings.dry_run else "",
    )
    scalars = {
        name: value
        for name, value in config.items()
        if isinstance(value, (bool, int, float)) and name != "api_key"
    }
    scalars["requests_per_second"] = settings.requests_per_second
    shown = ", ".join(f"{name}={_shown(value)}" for name, value in sorted(scalars.items()))
    logger.info("Settings in effect: %s", shown)


def _shown(value: bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def unknown_variables(environ: Mapping[str, str], schema: Mapping[str, Any]) -> list[str]:
    """One warning per `TARGET_AUTOPILOT_*` variable that is no setting, naming the closest setting."""
    names = _variable_names(schema)
    # Meltano also exports each key of an object setting: TARGET_AUTOPILOT_SEGMENTS_CHURN_RISK.
    objects = tuple(
        f"{name.upper()}_" for name, prop in schema.get("properties", {}).items() if _is_object(prop)
    )
    warnings = []
    for variable in sorted(environ):
        if not variable.startswith(PREFIX) or "__" in variable:  # `__`: Meltano's extras, not settings
            continue
        suffix = variable[len(PREFIX) :]
        if suffix in names or suffix in SDK_VARIABLES or suffix.startswith(objects):
            continue
        close = difflib.get_close_matches(suffix, list(names), n=1, cutoff=0.6)
        hint = f": did you mean `{names[close[0]]}` ({PREFIX}{close[0]})?" if close else ""
        warnings.append(
            f"The environment variable {variable} is not a setting of target-autopilot and is ignored{hint} "
            "(`target-autopilot --about` lists every setting)"
        )
    return warnings


def _is_object(prop: Mapping[str, Any]) -> bool:
    declared = prop.get("type", [])
    return "object" in ([declared] if isinstance(declared, str) else declared)


def _variable_names(schema: Mapping[str, Any]) -> dict[str, str]:
    """Variable suffix → setting name, for every setting and every declared property of an object setting."""
    names: dict[str, str] = {}
    for name, prop in schema.get("properties", {}).items():
        names[name.upper()] = name
        for sub in prop.get("properties") or {}:
            names[f"{name}_{sub}".upper()] = f"{name}.{sub}"
    return names
