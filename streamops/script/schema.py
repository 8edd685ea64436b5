"""Validation of action sequences (the script syntax), with node paths for FILE:LINE errors.

Each step is recognised by its key (`action`, `delay`, `choose`, …), checked against its own
schema, and normalised: `service:` becomes `action:`, single items become lists, time periods
become seconds (or stay templates), and shorthand template strings become condition steps. The
engine then runs normalised steps only, so it never has to re-check user input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import voluptuous as vol

from ..templates import is_template_string
from .conditions import validate_condition, validate_conditions
from .validation import (
    COMMON_STEP_KEYS,
    Issues,
    Path,
    boolean,
    check_templates,
    ensure_list,
    period_or_template,
    run_schema,
    suggest,
    template_str,
)

# Trigger validation lives with the automation engine; it registers itself here so that
# `wait_for_trigger` can validate its triggers without a circular import.
TriggerValidator = Callable[[Any, Path, Issues], list[dict[str, Any]]]
_trigger_validator: list[TriggerValidator] = []

ACTION_TYPES = (
    "action",
    "delay",
    "wait_template",
    "wait_for_trigger",
    "event",
    "choose",
    "if",
    "repeat",
    "parallel",
    "sequence",
    "variables",
    "stop",
    "condition",
)
_SERVICE_RE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
_VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def set_trigger_validator(validator: TriggerValidator) -> None:
    _trigger_validator[:] = [validator]


def _service_name(value: Any) -> str:
    if not isinstance(value, str):
        raise vol.Invalid(f"expected 'domain.service', got {value!r}")
    if is_template_string(value):
        return template_str(value)
    if not _SERVICE_RE.match(value.strip().lower()):
        raise vol.Invalid(f"invalid service {value!r}: expected 'domain.service' such as 'media.remux'")
    return value.strip().lower()


def _variable_name(value: Any) -> str:
    if not isinstance(value, str) or not _VARIABLE_RE.match(value):
        raise vol.Invalid(f"invalid variable name {value!r}: letters, digits and underscores only")
    return str(value)


def _variables(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise vol.Invalid("expected a mapping of variable names to values")
    for key in value:
        _variable_name(key)
    return dict(value)


_STEP_KEYS = {**COMMON_STEP_KEYS, vol.Optional("continue_on_error", default=False): boolean}

_SERVICE_SCHEMA = vol.Schema(
    {
        **_STEP_KEYS,
        vol.Required("action"): _service_name,
        vol.Optional("data", default=dict): vol.Any(dict, template_str),
        vol.Optional("target", default=dict): vol.Any(dict, template_str),
        vol.Optional("response_variable"): _variable_name,
        vol.Optional("metadata"): dict,
    }
)
_DELAY_SCHEMA = vol.Schema({**_STEP_KEYS, vol.Required("delay"): period_or_template})
_WAIT_TEMPLATE_SCHEMA = vol.Schema(
    {
        **_STEP_KEYS,
        vol.Required("wait_template"): template_str,
        vol.Optional("timeout"): period_or_template,
        vol.Optional("continue_on_timeout", default=True): boolean,
    }
)
_EVENT_SCHEMA = vol.Schema(
    {
        **_STEP_KEYS,
        vol.Required("event"): str,
        vol.Optional("event_data", default=dict): vol.Any(dict, template_str),
    }
)
_VARIABLES_SCHEMA = vol.Schema({**_STEP_KEYS, vol.Required("variables"): _variables})
_STOP_SCHEMA = vol.Schema(
    {
        **_STEP_KEYS,
        vol.Required("stop"): vol.Any(str, None),
        vol.Optional("error", default=False): boolean,
        vol.Optional("response_variable"): _variable_name,
    }
)


def validate_sequence(value: Any, path: Path, issues: Issues) -> list[dict[str, Any]]:
    """A list (or a single step) of actions, normalised."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for index, item in enumerate(items):
        step = validate_step(item, (*path, index) if isinstance(value, list) else path, issues)
        if step is not None:
            out.append(step)
    return out


def step_type(value: Mapping[str, Any]) -> str | None:
    if "action" in value or "service" in value:
        return "action"
    for key in ACTION_TYPES[1:]:
        if key in value:
            return key
    if any(k in value for k in ("and", "or", "not")):
        return "condition"
    return None


def validate_step(value: Any, path: Path, issues: Issues) -> dict[str, Any] | None:
    if isinstance(value, str):
        if is_template_string(value):  # shorthand template condition step
            cond = validate_condition(value, path, issues)
            return None if cond is None else {"type": "condition", "condition": cond, "enabled": True}
        issues.add(path, f"expected an action (a mapping such as 'action: media.remux'), got {value!r}")
        return None
    if not isinstance(value, Mapping):
        issues.add(path, f"expected an action (mapping), got {value!r}")
        return None
    kind = step_type(value)
    if kind is None:
        keys = ", ".join(map(str, value)) or "nothing"
        first = next(iter(value), "")
        issues.add(
            path,
            f"unknown action with keys {keys}{suggest(first, ACTION_TYPES)}: expected one of {', '.join(ACTION_TYPES)}",
        )
        return None
    return _VALIDATORS[kind](dict(value), path, issues)


def _service(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    if "service" in value:
        if "action" in value:
            issues.add((*path, "service"), "use either 'action' or the older 'service', not both")
            return None
        value["action"] = value.pop("service")
    for old in ("data_template", "service_template"):
        if old in value:
            issues.add((*path, old), f"'{old}' is no longer supported: templates work directly in 'data'/'action'")
            return None
    out = run_schema(_SERVICE_SCHEMA, value, path, issues)
    if out is None:
        return None
    check_templates(out["data"], (*path, "data"), issues)
    check_templates(out["target"], (*path, "target"), issues)
    return {"type": "call_service", **out}


def _simple(schema: vol.Schema, kind: str) -> Callable[[dict[str, Any], Path, Issues], dict[str, Any] | None]:
    def validate(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
        out = run_schema(schema, value, path, issues)
        if out is None:
            return None
        for key in ("event_data", "variables"):
            if key in out:
                check_templates(out[key], (*path, key), issues)
        return {"type": kind, **out}

    return validate


def _only_keys(value: Mapping[str, Any], allowed: tuple[str, ...], path: Path, issues: Issues) -> bool:
    extra = [k for k in value if k not in (*allowed, "alias", "enabled", "continue_on_error")]
    for key in extra:
        issues.add((*path, key), f"unknown key '{key}'{suggest(key, allowed)}")
    return not extra


def _common(value: Mapping[str, Any], path: Path, issues: Issues) -> dict[str, Any]:
    out: dict[str, Any] = {"enabled": True, "continue_on_error": False}
    for key, check in (("alias", str), ("enabled", boolean), ("continue_on_error", boolean)):
        if key in value:
            try:
                if key == "enabled" and is_template_string(value[key]):
                    out[key] = template_str(value[key])
                else:
                    out[key] = check(value[key])
            except (vol.Invalid, ValueError) as err:
                issues.add((*path, key), str(err))
    return out


def _wait_for_trigger(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    _only_keys(value, ("wait_for_trigger", "timeout", "continue_on_timeout"), path, issues)
    out = {"type": "wait_for_trigger", **_common(value, path, issues), "continue_on_timeout": True}
    validator = _trigger_validator[0] if _trigger_validator else None
    if validator is None:
        issues.add(path, "wait_for_trigger is not available (the automation engine is not loaded)")
        return None
    out["wait_for_trigger"] = validator(value["wait_for_trigger"], (*path, "wait_for_trigger"), issues)
    for key, check in (("timeout", period_or_template), ("continue_on_timeout", boolean)):
        if key in value:
            try:
                out[key] = check(value[key])
            except vol.Invalid as err:
                issues.add((*path, key), str(err))
    return out


def _choose(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    _only_keys(value, ("choose", "default"), path, issues)
    out = {"type": "choose", **_common(value, path, issues), "choose": [], "default": []}
    options = value["choose"]
    option_list = options if isinstance(options, list) else [options]
    for index, option in enumerate(option_list):
        where = (*path, "choose", index) if isinstance(options, list) else (*path, "choose")
        if not isinstance(option, Mapping):
            issues.add(where, "each choose option needs 'conditions' and 'sequence'")
            continue
        _only_keys(option, ("conditions", "sequence"), where, issues)
        if "sequence" not in option:
            issues.add(where, "missing 'sequence' in a choose option")
            continue
        out["choose"].append(
            {
                "conditions": validate_conditions(option.get("conditions", []), (*where, "conditions"), issues),
                "sequence": validate_sequence(option["sequence"], (*where, "sequence"), issues),
                **({"alias": option["alias"]} if "alias" in option else {}),
            }
        )
    if "default" in value:
        out["default"] = validate_sequence(value["default"], (*path, "default"), issues)
    return out


def _if(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    _only_keys(value, ("if", "then", "else"), path, issues)
    if "then" not in value:
        issues.add(path, "'if' needs 'then'")
        return None
    return {
        "type": "if",
        **_common(value, path, issues),
        "if": validate_conditions(value["if"], (*path, "if"), issues),
        "then": validate_sequence(value["then"], (*path, "then"), issues),
        "else": validate_sequence(value.get("else"), (*path, "else"), issues),
    }


def _repeat(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    _only_keys(value, ("repeat",), path, issues)
    spec = value["repeat"]
    where = (*path, "repeat")
    if not isinstance(spec, Mapping):
        issues.add(where, "repeat needs a mapping with 'sequence' and one of count, while, until, for_each")
        return None
    kinds = [k for k in ("count", "while", "until", "for_each") if k in spec]
    if len(kinds) != 1:
        issues.add(where, "repeat needs exactly one of 'count', 'while', 'until', 'for_each'")
        return None
    _only_keys(spec, (kinds[0], "sequence"), where, issues)
    if "sequence" not in spec:
        issues.add(where, "missing 'sequence' in repeat")
        return None
    kind = kinds[0]
    out: dict[str, Any] = {"type": "repeat", **_common(value, path, issues), "kind": kind}
    raw = spec[kind]
    if kind == "count":
        if is_template_string(raw):
            out["count"] = raw
        else:
            try:
                out["count"] = int(raw)
            except (TypeError, ValueError):
                issues.add((*where, "count"), f"expected a whole number or a template, got {raw!r}")
    elif kind in ("while", "until"):
        out[kind] = validate_conditions(raw, (*where, kind), issues)
    else:
        if not (isinstance(raw, list) or is_template_string(raw)):
            issues.add((*where, "for_each"), "expected a list or a template that renders one")
        check_templates(raw, (*where, "for_each"), issues)
        out["for_each"] = raw
    out["sequence"] = validate_sequence(spec["sequence"], (*where, "sequence"), issues)
    return out


def _parallel(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    _only_keys(value, ("parallel",), path, issues)
    branches = []
    items = ensure_list(value["parallel"])
    for index, item in enumerate(items):
        where = (*path, "parallel", index) if isinstance(value["parallel"], list) else (*path, "parallel")
        if isinstance(item, Mapping) and set(item) <= {"sequence", "alias", "enabled"} and "sequence" in item:
            branches.append(validate_sequence(item["sequence"], (*where, "sequence"), issues))
        else:
            step = validate_step(item, where, issues)
            branches.append([step] if step is not None else [])
    return {"type": "parallel", **_common(value, path, issues), "parallel": branches}


def _sequence(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    _only_keys(value, ("sequence",), path, issues)
    return {
        "type": "sequence",
        **_common(value, path, issues),
        "sequence": validate_sequence(value["sequence"], (*path, "sequence"), issues),
    }


def _condition_step(value: dict[str, Any], path: Path, issues: Issues) -> dict[str, Any] | None:
    common = _common(value, path, issues)
    cond = validate_condition({k: v for k, v in value.items() if k != "continue_on_error"}, path, issues)
    if cond is None:
        return None
    return {"type": "condition", **common, "condition": cond}


_VALIDATORS: dict[str, Callable[[dict[str, Any], Path, Issues], dict[str, Any] | None]] = {
    "action": _service,
    "delay": _simple(_DELAY_SCHEMA, "delay"),
    "wait_template": _simple(_WAIT_TEMPLATE_SCHEMA, "wait_template"),
    "wait_for_trigger": _wait_for_trigger,
    "event": _simple(_EVENT_SCHEMA, "event"),
    "choose": _choose,
    "if": _if,
    "repeat": _repeat,
    "parallel": _parallel,
    "sequence": _sequence,
    "variables": _simple(_VARIABLES_SCHEMA, "variables"),
    "stop": _simple(_STOP_SCHEMA, "stop"),
    "condition": _condition_step,
}

__all__ = ["ACTION_TYPES", "set_trigger_validator", "step_type", "validate_sequence", "validate_step"]
