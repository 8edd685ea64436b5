"""Integration loader: finds components by their manifest and sets them up in dependency order.

A component is a package with a `manifest.yaml` — the core's own (`streamops/<name>/`) and the
outside-world integrations (`integrations/<domain>/`) alike — whose module defines:

- `DOMAIN: str`
- `CONFIG_SCHEMA: voluptuous.Schema` (optional): validates the value under the `domain:` key
- `async def async_setup(hub, config) -> bool`: config is the validated value (or the schema
  applied to `{}` for components set up without being configured)

Manifest keys: `domain`, `name`, `dependencies` (set up first; failure means this one is skipped),
`after_dependencies` (ordered first when also configured), `always` (set up even when not in the
configuration), `safe_mode` (also set up in safe mode: recorder, http), `migrations` (folder of
`NNN_name.sql` files, applied by the recorder for every discovered component).
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import voluptuous as vol
import yaml

from .core import Hub

_LOGGER = logging.getLogger(__name__)

ROOTS: tuple[tuple[str, Path], ...] = (
    ("streamops", Path(__file__).resolve().parent),
    ("integrations", Path(__file__).resolve().parent.parent / "integrations"),
)


class IntegrationError(Exception):
    pass


@dataclass
class Integration:
    domain: str
    name: str
    package: str
    path: Path
    dependencies: list[str] = field(default_factory=list)
    after_dependencies: list[str] = field(default_factory=list)
    always: bool = False
    safe_mode: bool = False
    migrations: Path | None = None
    _module: ModuleType | None = None

    def module(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self.package)
        return self._module

    @property
    def config_schema(self) -> vol.Schema | None:
        return getattr(self.module(), "CONFIG_SCHEMA", None)


def discover() -> dict[str, Integration]:
    """All components with a manifest, keyed by domain (a core one wins over a same-named integration)."""
    found: dict[str, Integration] = {}
    for package_root, folder in reversed(ROOTS):
        if not folder.is_dir():
            continue
        for manifest_path in sorted(folder.glob("*/manifest.yaml")):
            manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8")) or {}
            domain = manifest.get("domain") or manifest_path.parent.name
            migrations = manifest_path.parent / manifest.get("migrations", "migrations")
            found[domain] = Integration(
                domain=domain,
                name=manifest.get("name", domain),
                package=f"{package_root}.{manifest_path.parent.name}",
                path=manifest_path.parent,
                dependencies=list(manifest.get("dependencies", [])),
                after_dependencies=list(manifest.get("after_dependencies", [])),
                always=bool(manifest.get("always", False)),
                safe_mode=bool(manifest.get("safe_mode", False)),
                migrations=migrations if migrations.is_dir() else None,
            )
    return found


def resolve_order(integrations: dict[str, Integration], wanted: set[str]) -> list[str]:
    """Wanted domains plus their dependencies, dependencies first; raises on cycles or unknown ones."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(domain: str, chain: tuple[str, ...]) -> None:
        if domain in order:
            return
        if domain in visiting:
            raise IntegrationError(f"dependency cycle: {' -> '.join((*chain, domain))}")
        integration = integrations.get(domain)
        if integration is None:
            raise IntegrationError(f"unknown integration '{domain}' (needed by {chain[-1] if chain else 'config'})")
        visiting.add(domain)
        for dep in integration.dependencies:
            visit(dep, (*chain, domain))
        for dep in integration.after_dependencies:
            if dep in wanted:
                visit(dep, (*chain, domain))
        visiting.discard(domain)
        order.append(domain)

    for domain in sorted(wanted):
        visit(domain, ())
    return order


async def async_setup_components(
    hub: Hub, integrations: dict[str, Integration], configs: dict[str, Any], wanted: set[str]
) -> dict[str, bool]:
    """Set up each wanted component; one failing is logged with its cause and the rest go on."""
    results: dict[str, bool] = {}
    for domain in resolve_order(integrations, wanted):
        integration = integrations[domain]
        missing = [dep for dep in integration.dependencies if not results.get(dep)]
        if missing:
            _LOGGER.error("Not setting up %s: dependency %s failed to set up", domain, ", ".join(missing))
            results[domain] = False
            continue
        results[domain] = await _setup_one(hub, integration, configs.get(domain))
    return results


async def _setup_one(hub: Hub, integration: Integration, config: Any) -> bool:
    started = time.monotonic()
    try:
        module = integration.module()
        if config is None:
            schema = integration.config_schema
            config = schema({}) if schema is not None else {}
        ok = await module.async_setup(hub, config)
    except Exception as err:
        _LOGGER.exception("Setup of %s failed: %s", integration.domain, err)
        return False
    if ok is False:
        _LOGGER.error("Setup of %s failed (see messages above)", integration.domain)
        return False
    hub.config.components.add(integration.domain)
    _LOGGER.info("Set up %s in %.2f s", integration.domain, time.monotonic() - started)
    return True
