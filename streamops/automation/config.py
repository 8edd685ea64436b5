"""Automation configs: validation with FILE:LINE errors, blueprints and the original rule format.

Sources, in the order they are read (a later one with the same `id` replaces an earlier one):

1. the default pack shipped in the top-level `automations/` folder (every `*.yaml`: a list of
   automations, or one);
2. the user's `automation:` section of configuration.yaml (usually `!include automations.yaml`).

So a user automation with the id of a default one overrides it — that is how the defaults are
customised without editing shipped files (the API's PUT on a default automation does exactly that).

Every problem is a ConfigError at the file and line of the node at fault, also inside
`!include`d files and blueprints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol

from ..blueprint import find_blueprint, instantiate, load_blueprint
from ..config.errors import ConfigError, ConfigErrors
from ..config.yaml_loader import NodeDict, load_yaml, location_of, node_location
from ..core.util import slugify
from ..script.conditions import validate_conditions
from ..script.engine import MAX_EXCEEDED_LEVELS, MODES
from ..script.schema import validate_sequence
from ..script.validation import Issues, boolean, check_templates, suggest
from .rules import convert_rule, is_rule
from .triggers import validate_triggers

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_PACK_DIR = REPO_ROOT / "automations"
DEFAULT_STORED_TRACES = 5

TOP_KEYS = (
    "id",
    "alias",
    "description",
    "mode",
    "max",
    "max_exceeded",
    "variables",
    "trigger_variables",
    "triggers",
    "trigger",
    "conditions",
    "condition",
    "actions",
    "action",
    "initial_state",
    "trace",
    "priority",
    "use_blueprint",
)
_ID_RE = re.compile(r"^[A-Za-z0-9_\-\.]+$")


@dataclass
class AutomationConfig:
    """One validated automation, with where it came from."""

    id: str
    alias: str
    description: str
    mode: str
    max: int
    max_exceeded: str
    variables: dict[str, Any]
    trigger_variables: dict[str, Any]
    triggers: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    initial_state: bool | None = None
    stored_traces: int = DEFAULT_STORED_TRACES
    priority: float = 0
    file: str | None = None
    line: int | None = None
    origin: str = "user"  # "user" | "default"
    raw: Any = None  # as written (rule format / use_blueprint included), for the API
    blueprint: str | None = None
    rule_format: bool = False
    signature: str = ""

    @property
    def entity_id(self) -> str:
        return f"automation.{slugify(self.id)}"

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "alias": self.alias,
            "description": self.description,
            "mode": self.mode,
            "entity_id": self.entity_id,
            "source": {"file": self.file, "line": self.line, "origin": self.origin},
            "blueprint": self.blueprint,
            "rule_format": self.rule_format,
        }


@dataclass
class LoadResult:
    automations: list[AutomationConfig] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)


def _to_errors(issues: Issues, root: Any) -> list[ConfigError]:
    return [ConfigError(message, *location_of(root, list(path))) for path, message in issues.items]


def _plain(value: Any) -> Any:
    """Strip node classes (for signatures and the API): dicts, lists and plain scalars only."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _pick(value: Mapping[str, Any], plural: str, singular: str, issues: Issues) -> tuple[Any, str | None]:
    if plural in value and singular in value:
        issues.add((singular,), f"use either '{plural}' or '{singular}', not both")
        return None, None
    if plural in value:
        return value[plural], plural
    if singular in value:
        return value[singular], singular
    return None, None


def validate_automation(
    raw: Any, *, config_dir: Path | None, origin: str = "user", index: int = 0
) -> tuple[AutomationConfig | None, list[ConfigError]]:
    """Validate one automation as written (HA format, rule format or use_blueprint)."""
    if not isinstance(raw, Mapping):
        loc = node_location(raw)
        return None, [ConfigError(f"expected an automation (a mapping with triggers and actions), got {raw!r}", *loc)]
    written = raw
    blueprint_name = None
    rule_format = False
    root: Any = raw
    if is_rule(raw):
        issues = Issues()
        converted = convert_rule(raw, (), issues)
        if issues or converted is None:
            return None, _to_errors(issues, raw)
        raw, root, rule_format = converted, converted, True
    if "use_blueprint" in raw:
        try:
            raw, blueprint_name = _expand_blueprint(raw, config_dir)
        except ConfigErrors as err:
            return None, list(err.errors)
        except ConfigError as err:
            return None, [err]
        root = raw
    issues = Issues()
    for key in raw:
        if key not in TOP_KEYS:
            issues.add((key,), f"unknown automation key '{key}'{suggest(key, TOP_KEYS)}")
    triggers_raw, tkey = _pick(raw, "triggers", "trigger", issues)
    conditions_raw, ckey = _pick(raw, "conditions", "condition", issues)
    actions_raw, akey = _pick(raw, "actions", "action", issues)
    if tkey is None and not issues:
        issues.add((), "an automation needs 'triggers:'")
    if akey is None and not issues:
        issues.add((), "an automation needs 'actions:'")
    triggers = validate_triggers(triggers_raw, (tkey,), issues) if tkey else []
    conditions = validate_conditions(conditions_raw, (ckey,), issues) if ckey else []
    actions = validate_sequence(actions_raw, (akey,), issues) if akey else []
    alias = raw.get("alias")
    auto_id = raw.get("id")
    if auto_id is None:
        if alias:
            auto_id = slugify(str(alias))
        else:
            issues.add((), "an automation needs an 'id' (or at least an 'alias')")
            auto_id = f"automation_{index}"
    auto_id = str(auto_id)
    if not _ID_RE.match(auto_id):
        issues.add(("id",), f"invalid id {auto_id!r}: letters, digits, '_', '-' and '.' only")
    mode = str(raw.get("mode", "single"))
    if mode not in MODES:
        issues.add(("mode",), f"unknown mode '{mode}'{suggest(mode, MODES)} (one of {', '.join(MODES)})")
    max_runs = raw.get("max", 10)
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
        issues.add(("max",), f"'max' must be a whole number of 1 or more, got {max_runs!r}")
        max_runs = 10
    max_exceeded = str(raw.get("max_exceeded", "warning")).lower()
    if max_exceeded not in MAX_EXCEEDED_LEVELS:
        issues.add(("max_exceeded",), f"'max_exceeded' must be one of {', '.join(MAX_EXCEEDED_LEVELS)}")
    variables = raw.get("variables") or {}
    trigger_variables = raw.get("trigger_variables") or {}
    for key, value in (("variables", variables), ("trigger_variables", trigger_variables)):
        if not isinstance(value, Mapping):
            issues.add((key,), f"'{key}' must be a mapping of names to values")
        else:
            check_templates(value, (key,), issues)
    initial_state = None
    if "initial_state" in raw:
        try:
            initial_state = boolean(raw["initial_state"])
        except vol.Invalid as err:
            issues.add(("initial_state",), str(err))
    stored = DEFAULT_STORED_TRACES
    trace_cfg = raw.get("trace")
    if trace_cfg is not None:
        if not isinstance(trace_cfg, Mapping) or not isinstance(trace_cfg.get("stored_traces", 5), int):
            issues.add(("trace",), "'trace' takes {stored_traces: N}")
        else:
            stored = max(1, int(trace_cfg.get("stored_traces", DEFAULT_STORED_TRACES)))
    priority = raw.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int | float):
        issues.add(("priority",), f"'priority' must be a number, got {priority!r}")
        priority = 0
    if issues:
        return None, _to_errors(issues, root)
    file, line = node_location(written)
    config = AutomationConfig(
        id=auto_id,
        alias=str(alias or auto_id),
        description=str(raw.get("description") or ""),
        mode=mode,
        max=max_runs,
        max_exceeded=max_exceeded,
        variables=dict(variables),
        trigger_variables=dict(trigger_variables),
        triggers=triggers,
        conditions=conditions,
        actions=actions,
        initial_state=initial_state,
        stored_traces=stored,
        priority=float(priority),
        file=file,
        line=line,
        origin=origin,
        raw=_plain(written),
        blueprint=blueprint_name,
        rule_format=rule_format,
    )
    config.signature = repr(_plain(raw)) + repr(_plain(written))
    return config, []


def _expand_blueprint(raw: Mapping[str, Any], config_dir: Path | None) -> tuple[NodeDict, str]:
    use = raw["use_blueprint"]
    if not isinstance(use, Mapping) or "path" not in use:
        raise ConfigError("use_blueprint needs 'path' (and 'input')", *location_of(raw, ["use_blueprint"]))
    found = find_blueprint(config_dir, str(use["path"]))
    if found is None:
        where = f"{config_dir}/blueprints/ or the built-in blueprints/" if config_dir else "the built-in blueprints/"
        raise ConfigError(
            f"blueprint '{use['path']}' not found in {where}", *location_of(raw, ["use_blueprint", "path"])
        )
    path, root, builtin = found
    blueprint = load_blueprint(path, root, builtin)
    body = instantiate(blueprint, use, raw, ["use_blueprint"])
    # Keys next to use_blueprint (id, alias, mode, ...) override the blueprint's own.
    merged = NodeDict(body)
    merged.file, merged.line = node_location(raw)
    merged.key_lines = dict(getattr(body, "key_lines", {}))
    merged.value_lines = dict(getattr(body, "value_lines", {}))
    for key, value in raw.items():
        if key == "use_blueprint":
            continue
        merged[key] = value
        if isinstance(raw, NodeDict):
            if key in raw.key_lines:
                merged.key_lines[key] = raw.key_lines[key]
            if key in raw.value_lines:
                merged.value_lines[key] = raw.value_lines[key]
    return merged, blueprint.display


def validate_automation_list(items: Any, *, config_dir: Path | None, origin: str = "user") -> LoadResult:
    """Validate a list of automations (the `automation:` section or one pack file)."""
    result = LoadResult()
    if items is None or (isinstance(items, Mapping) and not items):
        return result
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        result.errors.append(ConfigError("'automation:' must be a list of automations", *node_location(items)))
        return result
    seen: dict[str, AutomationConfig] = {}
    for index, item in enumerate(items):
        config, errors = validate_automation(item, config_dir=config_dir, origin=origin, index=index)
        if errors and not node_location(item)[0]:
            errors = [e if e.file else ConfigError(e.message, *location_of(items, [index])) for e in errors]
        result.errors.extend(errors)
        if config is None:
            continue
        if config.id in seen:
            first = seen[config.id]
            result.errors.append(
                ConfigError(
                    f"duplicate automation id '{config.id}' (first defined at {first.file}:{first.line})",
                    config.file,
                    config.line,
                )
            )
            continue
        seen[config.id] = config
        result.automations.append(config)
    return result


def load_default_pack(pack_dir: Path = DEFAULT_PACK_DIR, config_dir: Path | None = None) -> LoadResult:
    """Every automation in the shipped pack (`automations/*.yaml`)."""
    result = LoadResult()
    if not pack_dir.is_dir():
        return result
    for path in sorted(pack_dir.glob("*.yaml")):
        try:
            data = load_yaml(path, config_dir=pack_dir.parent)
        except ConfigErrors as err:
            result.errors.extend(err.errors)
            continue
        except ConfigError as err:
            result.errors.append(err)
            continue
        part = validate_automation_list(data, config_dir=config_dir, origin="default")
        result.automations += part.automations
        result.errors += part.errors
    return result


def load_all(section: Any, config_dir: Path | None, *, pack_dir: Path | None = DEFAULT_PACK_DIR) -> LoadResult:
    """Default pack + user section; user automations replace default ones with the same id."""
    result = LoadResult()
    defaults = load_default_pack(pack_dir, config_dir) if pack_dir is not None else LoadResult()
    user = validate_automation_list(section, config_dir=config_dir, origin="user")
    user_ids = {a.id for a in user.automations}
    result.automations = [a for a in defaults.automations if a.id not in user_ids] + user.automations
    result.errors = defaults.errors + user.errors
    return result


def validate_automations(hub_or_config_dir: Any, raw_config: Any) -> list[ConfigError]:
    """For `check-config`: every problem in the default pack and in `raw_config` (the value under
    `automation:` as loaded, with its file/line nodes). `hub_or_config_dir` is a Hub or the config
    directory (used to find the user's blueprints)."""
    config_dir = getattr(getattr(hub_or_config_dir, "config", None), "config_dir", None)
    if config_dir is None and hub_or_config_dir is not None:
        config_dir = Path(hub_or_config_dir)
    return load_all(raw_config, config_dir).errors
