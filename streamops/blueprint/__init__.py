"""Blueprints: reusable automations with inputs (`blueprint:` header, `!input NAME` inside).

An automation uses one with `use_blueprint: {path: post_recording.yaml, input: {...}}`. The file
is looked up in the user's `<config>/blueprints/` first (also under `automation/`, Home
Assistant's layout), then in the built-ins shipped in the top-level `blueprints/` folder, so a user
copy with the same name wins. Inputs are checked against the header (missing, unknown, and a few
selector types: number, boolean, text, select, entity); every problem is a ConfigError at the line
of the `use_blueprint:` (missing input), of the input (unknown or wrong value) or of the `!input`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.errors import ConfigError, ConfigErrors
from ..config.yaml_loader import Input, NodeDict, load_yaml, location_of, substitute_inputs
from ..core.util import valid_entity_id
from ..script.validation import suggest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
BUILTIN_DIR = REPO_ROOT / "blueprints"
_NO_DEFAULT = object()


@dataclass
class BlueprintInput:
    name: str
    title: str = ""
    description: str = ""
    default: Any = _NO_DEFAULT
    selector: Mapping[str, Any] | None = None

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.title or self.name, "description": self.description}
        if not self.required:
            out["default"] = self.default
        if self.selector is not None:
            out["selector"] = dict(self.selector)
        return out


@dataclass
class Blueprint:
    path: Path
    display: str
    name: str
    description: str
    domain: str
    inputs: dict[str, BlueprintInput]
    body: NodeDict
    builtin: bool = False
    header: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.display,
            "name": self.name,
            "description": self.description,
            "domain": self.domain,
            "builtin": self.builtin,
            "input": {name: item.as_dict() for name, item in self.inputs.items()},
        }


def search_dirs(config_dir: Path | None) -> list[tuple[Path, Path, bool]]:
    """(folder, display root, builtin) in lookup order: user ones first."""
    dirs: list[tuple[Path, Path, bool]] = []
    if config_dir is not None:
        user = Path(config_dir) / "blueprints"
        dirs += [(user, Path(config_dir), False), (user / "automation", Path(config_dir), False)]
    dirs += [(BUILTIN_DIR, REPO_ROOT, True), (BUILTIN_DIR / "automation", REPO_ROOT, True)]
    return dirs


def find_blueprint(config_dir: Path | None, rel_path: str) -> tuple[Path, Path, bool] | None:
    rel = Path(str(rel_path))
    if rel.is_absolute() or ".." in rel.parts:
        return None
    for folder, root, builtin in search_dirs(config_dir):
        candidate = folder / rel
        if candidate.is_file():
            return candidate, root, builtin
    return None


def _parse_inputs(section: Any, errors: list[ConfigError], header: Any) -> dict[str, BlueprintInput]:
    inputs: dict[str, BlueprintInput] = {}
    if section is None:
        return inputs
    if not isinstance(section, Mapping):
        errors.append(
            ConfigError("blueprint 'input' must be a mapping of input names", *location_of(header, ["input"]))
        )
        return inputs
    for name, spec in section.items():
        if isinstance(spec, Mapping) and "input" in spec and isinstance(spec["input"], Mapping):
            inputs.update(_parse_inputs(spec["input"], errors, spec))  # an input section (group)
            continue
        if spec is None:
            spec = {}
        if not isinstance(spec, Mapping):
            errors.append(ConfigError(f"blueprint input '{name}' must be a mapping", *location_of(section, [name])))
            continue
        inputs[str(name)] = BlueprintInput(
            name=str(name),
            title=str(spec.get("name", "")),
            description=str(spec.get("description", "")),
            default=spec["default"] if "default" in spec else _NO_DEFAULT,
            selector=spec.get("selector") if isinstance(spec.get("selector"), Mapping) else None,
        )
    return inputs


def load_blueprint(path: Path, root: Path, builtin: bool = False) -> Blueprint:
    """Load and check a blueprint file; raises ConfigError / ConfigErrors naming file and line."""
    data = load_yaml(path, config_dir=root)
    display = (
        path.resolve().relative_to(root.resolve()).as_posix()
        if path.resolve().is_relative_to(root.resolve())
        else str(path)
    )
    if not isinstance(data, Mapping) or "blueprint" not in data:
        raise ConfigError("not a blueprint: the file has no 'blueprint:' header", display, 1)
    header = data["blueprint"]
    errors: list[ConfigError] = []
    if not isinstance(header, Mapping):
        raise ConfigError(
            "'blueprint:' must be a mapping with name, domain and input", *location_of(data, ["blueprint"])
        )
    if not header.get("name"):
        errors.append(ConfigError("blueprint header needs a 'name'", *location_of(data, ["blueprint"])))
    domain = str(header.get("domain", "automation"))
    if domain != "automation":
        errors.append(
            ConfigError(
                f"blueprint domain '{domain}' is not supported (only 'automation')",
                *location_of(data, ["blueprint", "domain"]),
            )
        )
    inputs = _parse_inputs(header.get("input"), errors, header)
    if errors:
        raise ConfigErrors(errors) if len(errors) > 1 else errors[0]
    body = NodeDict({k: v for k, v in data.items() if k != "blueprint"})
    body.file, body.line = getattr(data, "file", display), getattr(data, "line", 1)
    if isinstance(data, NodeDict):
        body.key_lines = {k: v for k, v in data.key_lines.items() if k != "blueprint"}
        body.value_lines = {k: v for k, v in data.value_lines.items() if k != "blueprint"}
    return Blueprint(
        path=path,
        display=display,
        name=str(header.get("name", path.stem)),
        description=str(header.get("description", "")),
        domain=domain,
        inputs=inputs,
        body=body,
        builtin=builtin,
        header=header,
    )


def _check_selector(item: BlueprintInput, value: Any) -> str | None:
    """A message when `value` does not fit the input's selector, else None."""
    if item.selector is None or isinstance(value, Input):
        return None
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return None  # a template: checked when rendered
    kind = next(iter(item.selector), None)
    options = item.selector.get(kind) or {}
    if not isinstance(options, Mapping):
        options = {}
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return f"expected a number, got {value!r}"
        if "min" in options and value < options["min"]:
            return f"{value} is below the minimum {options['min']}"
        if "max" in options and value > options["max"]:
            return f"{value} is above the maximum {options['max']}"
    elif kind == "boolean":
        if not isinstance(value, bool):
            return f"expected true or false, got {value!r}"
    elif kind == "text":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return f"expected text, got {value!r}"
    elif kind == "select":
        raw_options = options.get("options") or []
        allowed = [str(o.get("value") if isinstance(o, Mapping) else o) for o in raw_options]
        values = value if options.get("multiple") and isinstance(value, list) else [value]
        for one in values:
            if allowed and str(one) not in allowed:
                return f"{one!r} is not one of {', '.join(allowed)}{suggest(one, allowed)}"
    elif kind == "entity":
        values = value if isinstance(value, list) else [value]
        domains = options.get("domain")
        domains = [domains] if isinstance(domains, str) else domains
        for one in values:
            if not isinstance(one, str) or not valid_entity_id(one):
                return f"expected an entity id (domain.object_id), got {one!r}"
            if domains and one.split(".")[0] not in domains:
                return f"{one} is not in domain {' or '.join(domains)}"
    return None


def instantiate(blueprint: Blueprint, use: Mapping[str, Any], use_root: Any, use_path: list[Any]) -> NodeDict:
    """The blueprint body with `!input`s replaced; raises ConfigError(s) for wrong inputs.

    `use` is the `use_blueprint:` mapping; `use_root`/`use_path` locate it for messages.
    """
    given = use.get("input") or {}
    errors: list[ConfigError] = []
    if not isinstance(given, Mapping):
        raise ConfigError("use_blueprint 'input' must be a mapping", *location_of(use_root, [*use_path, "input"]))
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name not in blueprint.inputs:
            errors.append(
                ConfigError(
                    f"unknown input '{name}' for blueprint {blueprint.display}{suggest(name, blueprint.inputs)}"
                    f" (inputs: {', '.join(blueprint.inputs) or 'none'})",
                    *location_of(use_root, [*use_path, "input", name]),
                )
            )
            continue
        problem = _check_selector(blueprint.inputs[name], value)
        if problem:
            errors.append(
                ConfigError(
                    f"input '{name}' of blueprint {blueprint.display}: {problem}",
                    *location_of(use_root, [*use_path, "input", name]),
                )
            )
            continue
        values[name] = value
    for name, item in blueprint.inputs.items():
        if name in values:
            continue
        if item.required:
            if name not in given:
                label = f" ({item.title})" if item.title and item.title != name else ""
                errors.append(
                    ConfigError(
                        f"missing input '{name}'{label} for blueprint {blueprint.display}",
                        *location_of(use_root, use_path),
                    )
                )
        else:
            values[name] = item.default
    if errors:
        raise ConfigErrors(errors) if len(errors) > 1 else errors[0]
    return substitute_inputs(blueprint.body, values)


def list_blueprints(config_dir: Path | None) -> list[Blueprint]:
    """Every loadable blueprint, user ones hiding built-ins of the same relative path."""
    seen: dict[str, Blueprint] = {}
    for folder, root, builtin in search_dirs(config_dir):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.yaml")):
            rel = path.relative_to(folder).as_posix()
            if rel in seen:
                continue
            try:
                seen[rel] = load_blueprint(path, root, builtin)
            except (ConfigError, ConfigErrors):
                continue
    return list(seen.values())


__all__ = [
    "BUILTIN_DIR",
    "Blueprint",
    "BlueprintInput",
    "find_blueprint",
    "instantiate",
    "list_blueprints",
    "load_blueprint",
]
