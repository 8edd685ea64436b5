"""From a config directory to a running hub: load, validate everything, then set up.

Validation happens before anything starts, so a bad config never leaves the hub half-configured:
with errors, only the safe-mode components (recorder, http) start and the API shows the errors.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol

from .config.errors import ConfigError
from .config.loading import load_configuration, validate_sections
from .core import Hub
from .loader import Integration, async_setup_components, discover

_LOGGER = logging.getLogger(__name__)

SHIPPED_CONFIG = Path(__file__).resolve().parent.parent / "config"
FIRST_RUN_FOLDERS = ("recordings", "editing")


def default_data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`STREAMOPS_DATA`, else `/data` in the container, else `~/.streamops`."""
    if environ.get("STREAMOPS_DATA"):
        return Path(environ["STREAMOPS_DATA"])
    in_container = Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()
    if in_container and Path("/data").is_dir() and os.access("/data", os.W_OK):
        return Path("/data")
    return Path.home() / ".streamops"


def ensure_config_dir(config_dir: Path | None, data_dir: Path) -> Path:
    """Without `-c`, use `<data>/config`, seeded from the shipped defaults on first run."""
    if config_dir is not None:
        return config_dir
    target = data_dir / "config"
    if not (target / "configuration.yaml").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(SHIPPED_CONFIG, target, dirs_exist_ok=True)
        # The shipped drives point at <data>/recordings and <data>/editing: make them exist.
        for folder in FIRST_RUN_FOLDERS:
            (data_dir / folder).mkdir(parents=True, exist_ok=True)
        _LOGGER.info("First run: copied the default configuration to %s", target)
    return target


@dataclass
class CheckedConfig:
    sections: dict[str, Any]
    errors: list[ConfigError]
    integrations: dict[str, Integration] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)


def check_config(config_dir: Path, environ: Mapping[str, str] = os.environ) -> CheckedConfig:
    """Load and validate the whole configuration without setting anything up."""
    integrations = discover()
    loaded = load_configuration(config_dir, environ)
    schemas: dict[str, vol.Schema] = {}
    for domain, integration in integrations.items():
        try:
            schemas[domain] = integration.config_schema or vol.Schema(object)
        except Exception as err:  # an integration that cannot even be imported
            loaded.errors.append(ConfigError(f"integration {domain} failed to load: {err}"))
    sections = validate_sections(loaded, schemas) if not loaded.errors or loaded.config else {}
    # Components whose section needs more than a schema (automations: triggers of other components,
    # blueprints in other files) offer `validate_config(config_dir, raw_value) -> [ConfigError]`.
    for domain, integration in integrations.items():
        wanted = domain in sections or integration.always
        validator = getattr(integration.module(), "validate_config", None) if wanted else None
        if validator is not None:
            loaded.errors.extend(validator(config_dir, loaded.config.get(domain)))
    return CheckedConfig(sections, loaded.errors, integrations, loaded.overrides)


async def async_setup_hub(
    config_dir: Path, data_dir: Path, environ: Mapping[str, str] = os.environ, *, start: bool = True
) -> Hub:
    """Build, configure and (by default) start a hub; never raises for a bad config (safe mode)."""
    hub = Hub(config_dir, data_dir)
    checked = check_config(config_dir, environ)
    hub.config.raw = checked.sections
    hub.config.errors = checked.errors
    for line in checked.overrides:
        _LOGGER.info("Environment override: %s", line)
    integrations = checked.integrations
    wanted = {d for d in checked.sections if d in integrations} | {d for d, i in integrations.items() if i.always}
    if hub.config.safe_mode:
        for error in checked.errors:
            _LOGGER.error("Config error: %s", error)
        _LOGGER.error(
            "Starting in SAFE MODE (%d config error(s)): API and dashboard only, integrations and automations off",
            len(checked.errors),
        )
        wanted = {d for d in wanted if integrations[d].safe_mode}
    results = await async_setup_components(hub, integrations, checked.sections, wanted)
    failed = sorted(d for d, ok in results.items() if not ok)
    if failed:
        _LOGGER.error("Components that failed to set up: %s", ", ".join(failed))
    if start:
        await hub.async_start()
    return hub
