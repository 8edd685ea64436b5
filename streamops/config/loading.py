"""Load `configuration.yaml`, apply environment overrides, validate each top-level section.

Loading never raises for a user mistake: every problem becomes a ConfigError in
`LoadedConfig.errors`, so `streamops check-config` can print them all and `streamops run` can fall
back to safe mode with the dashboard still reachable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol

from .core_section import CORE_DOMAIN, CORE_SCHEMA
from .env_overrides import collect_env_overrides
from .errors import ConfigError
from .validation import did_you_mean, validate
from .yaml_loader import LoadContext, NodeDict, load_yaml_file, node_location

CONFIG_FILE = "configuration.yaml"


@dataclass
class LoadedConfig:
    """The raw configuration (a NodeDict keeping every value's place) and what went wrong.

    `files` lists every file read (configuration, includes, secrets) so a reload can watch them.
    """

    config: NodeDict
    errors: list[ConfigError] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    config_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _empty_root(file: str | None = None) -> NodeDict:
    root = NodeDict()
    root.file, root.line = file, 1 if file else None
    return root


def load_configuration(config_dir: Path, environ: Mapping[str, str] = os.environ) -> LoadedConfig:
    """Read `config_dir/configuration.yaml` with includes, secrets and env overrides applied."""
    config_dir = Path(config_dir)
    context = LoadContext(config_dir, environ=environ)
    path = context.config_dir / CONFIG_FILE
    root: NodeDict
    if not config_dir.is_dir():
        context.errors.append(ConfigError(f"configuration directory {config_dir} does not exist"))
        root = _empty_root()
    elif not path.is_file():
        context.errors.append(
            ConfigError(
                f"file not found in {context.config_dir} (create it, or start from the shipped config/)", CONFIG_FILE
            )
        )
        root = _empty_root()
    else:
        try:
            data = load_yaml_file(path, context)
        except ConfigError as err:
            context.errors.append(err)
            data = _empty_root(CONFIG_FILE)
        if isinstance(data, NodeDict):
            root = data
        else:
            found = "a list" if isinstance(data, list) else "a single value"
            file, line = node_location(data)
            context.errors.append(
                ConfigError(
                    f"{CONFIG_FILE} must be a mapping of sections (like 'obs:' and 'jobs:'), not {found}",
                    file or CONFIG_FILE,
                    line or 1,
                )
            )
            root = _empty_root(CONFIG_FILE)
    root.secret_values = context.secret_values
    overrides, env_errors = collect_env_overrides(root, environ)
    context.errors.extend(env_errors)
    return LoadedConfig(
        config=root,
        errors=context.errors,
        overrides=overrides,
        files=list(context.files),
        config_dir=context.config_dir,
    )


def _from_environment_only(location: tuple[str | None, int | None]) -> bool:
    return bool(location[0] and location[0].startswith("env:"))


def validate_sections(loaded: LoadedConfig, schemas: Mapping[str, Any]) -> dict[str, Any]:
    """Validate every top-level section present in `loaded.config` with `schemas[section]`.

    Errors are appended to `loaded.errors`; unknown sections are errors too (with "did you mean"),
    except a section that only environment overrides created.  `streamops:` (hub settings) is
    validated with `core_section.CORE_SCHEMA` unless `schemas` has its own.
    Returns the validated sections; a section with errors is left out.  An empty section
    (`jobs:` with nothing under it) is validated as `{}` when the schema accepts that.
    """
    result: dict[str, Any] = {}
    root = loaded.config
    if CORE_DOMAIN not in schemas:
        schemas = {**schemas, CORE_DOMAIN: CORE_SCHEMA}
    for key, value in root.items():
        location = root.key_lines.get(key, (None, None)) if isinstance(root, NodeDict) else (None, None)
        if key not in schemas and _from_environment_only(location):
            continue  # e.g. NATS_ENABLE set while remote_workers is not installed: listed in overrides, not fatal
        if key not in schemas:
            message = f"unknown section '{key}'{did_you_mean(key, schemas)}"
            loaded.errors.append(ConfigError(message, *location))
            continue
        schema = schemas[key]
        compiled = schema if isinstance(schema, vol.Schema) else vol.Schema(schema)
        if value is None:
            try:
                result[key] = compiled({})
                continue
            except vol.Invalid:
                pass
        validated, errors = validate(compiled, value, domain=str(key), root=root)
        if errors:
            loaded.errors.extend(errors)
        else:
            result[key] = validated
    return result
