"""Conditions: validation (with node paths) and compilation into fast checkers.

A compiled checker is `check(variables, notes) -> bool`. When it says no, it appends a sentence to
`notes` ("binary_sensor.obs_recording is 'on', wanted 'off'"), which goes into the run's trace: the
streamer sees *why* an automation did not run, not just that it did not.

Types: state, numeric_state, template, time (after/before/weekday), trigger (ids), and/or/not, and
the shorthand forms Home Assistant accepts (a template string; `and:`/`or:`/`not:` as the key).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from datetime import time as dtime
from typing import Any

import voluptuous as vol

from ..core import Hub
from ..templates import TemplateError, is_template_string
from .templating import TemplateCache, render_period, result_is_true
from .validation import (
    COMMON_STEP_KEYS,
    Issues,
    Path,
    boolean,
    ensure_list,
    entity_ids,
    period_or_template,
    run_schema,
    string_list,
    suggest,
    template_str,
)

Checker = Callable[[Mapping[str, Any], "list[str] | None"], bool]

CONDITION_TYPES = ("and", "or", "not", "state", "numeric_state", "template", "time", "trigger")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


def _time_or_entity(value: Any) -> str:
    text = str(value).strip()
    if _TIME_RE.match(text):
        hour, minute, *rest = (int(p) for p in text.split(":"))
        if hour > 23 or minute > 59 or (rest and rest[0] > 59):
            raise vol.Invalid(f"invalid time {value!r}")
        return text
    try:
        return entity_ids(text)[0]
    except vol.Invalid:
        raise vol.Invalid(f"expected a time 'HH:MM[:SS]' or an entity id, got {value!r}") from None


def _number_or_entity(value: Any) -> float | str:
    if isinstance(value, bool):
        raise vol.Invalid(f"expected a number or an entity id, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        pass
    try:
        return entity_ids(str(value))[0]
    except vol.Invalid:
        raise vol.Invalid(f"expected a number or an entity id, got {value!r}") from None


def weekday_list(value: Any) -> list[str]:
    """`weekday: [mon, tue]` (or one day) for time conditions and time triggers alike."""
    days = [str(d).lower()[:3] for d in ensure_list(value)]
    for day in days:
        if day not in WEEKDAYS:
            raise vol.Invalid(f"invalid weekday {day!r}: use {', '.join(WEEKDAYS)}")
    return days


_STATE_SCHEMA = vol.Schema(
    {
        **COMMON_STEP_KEYS,
        vol.Required("condition"): "state",
        vol.Required("entity_id"): entity_ids,
        vol.Required("state"): vol.Any(string_list, None),
        vol.Optional("attribute"): str,
        vol.Optional("for"): period_or_template,
        vol.Optional("match", default="all"): vol.In(["all", "any"]),
    }
)
_NUMERIC_SCHEMA = vol.Schema(
    {
        **COMMON_STEP_KEYS,
        vol.Required("condition"): "numeric_state",
        vol.Required("entity_id"): entity_ids,
        vol.Optional("attribute"): str,
        vol.Optional("value_template"): template_str,
        vol.Optional("above"): _number_or_entity,
        vol.Optional("below"): _number_or_entity,
    }
)
_TEMPLATE_SCHEMA = vol.Schema(
    {**COMMON_STEP_KEYS, vol.Required("condition"): "template", vol.Required("value_template"): template_str}
)
_TIME_SCHEMA = vol.Schema(
    {
        **COMMON_STEP_KEYS,
        vol.Required("condition"): "time",
        vol.Optional("after"): _time_or_entity,
        vol.Optional("before"): _time_or_entity,
        vol.Optional("weekday"): weekday_list,
    }
)
_TRIGGER_SCHEMA = vol.Schema(
    {**COMMON_STEP_KEYS, vol.Required("condition"): "trigger", vol.Required("id"): string_list}
)
_SCHEMAS: dict[str, vol.Schema] = {
    "state": _STATE_SCHEMA,
    "numeric_state": _NUMERIC_SCHEMA,
    "template": _TEMPLATE_SCHEMA,
    "time": _TIME_SCHEMA,
    "trigger": _TRIGGER_SCHEMA,
}


def validate_conditions(value: Any, path: Path, issues: Issues) -> list[dict[str, Any]]:
    """A list (or one) of conditions, normalised; problems go to `issues`."""
    items = ensure_list(value)
    out = []
    for index, item in enumerate(items):
        normalised = validate_condition(item, (*path, index) if isinstance(value, list) else path, issues)
        if normalised is not None:
            out.append(normalised)
    return out


def validate_condition(value: Any, path: Path, issues: Issues) -> dict[str, Any] | None:
    if isinstance(value, str):
        if not is_template_string(value):
            issues.add(path, f"a condition given as a string must be a template ('{{{{ ... }}}}'), got {value!r}")
            return None
        try:
            return {"condition": "template", "value_template": template_str(value), "enabled": True}
        except vol.Invalid as err:
            issues.add(path, str(err))
            return None
    if not isinstance(value, Mapping):
        issues.add(path, f"expected a condition (mapping or template string), got {value!r}")
        return None
    kind = value.get("condition")
    if kind is None:
        # Shorthand `and: [...]`, `or: [...]`, `not: [...]`.
        logical = [k for k in ("and", "or", "not") if k in value]
        if len(logical) == 1:
            key = logical[0]
            extra = [k for k in value if k not in (key, "alias", "enabled")]
            if extra:
                issues.add((*path, extra[0]), f"unknown key '{extra[0]}' in an '{key}' condition")
            return {
                "condition": key,
                "conditions": validate_conditions(value[key], (*path, key), issues),
                "enabled": value.get("enabled", True),
                **({"alias": value["alias"]} if "alias" in value else {}),
            }
        issues.add(path, f"missing 'condition:' (one of {', '.join(CONDITION_TYPES)})")
        return None
    if is_template_string(kind):  # `condition: "{{ ... }}"` shorthand
        return validate_condition(kind, (*path, "condition"), issues)
    if kind in ("and", "or", "not"):
        extra = [k for k in value if k not in ("condition", "conditions", "alias", "enabled")]
        if extra:
            issues.add((*path, extra[0]), f"unknown key '{extra[0]}'{suggest(extra[0], ['conditions'])}")
        if "conditions" not in value:
            issues.add(path, f"missing 'conditions:' in an '{kind}' condition")
            return None
        return {
            "condition": kind,
            "conditions": validate_conditions(value["conditions"], (*path, "conditions"), issues),
            "enabled": value.get("enabled", True),
            **({"alias": value["alias"]} if "alias" in value else {}),
        }
    schema = _SCHEMAS.get(str(kind))
    if schema is None:
        issues.add((*path, "condition"), f"unknown condition type '{kind}'{suggest(kind, CONDITION_TYPES)}")
        return None
    if kind == "numeric_state" and "above" not in value and "below" not in value:
        issues.add(path, "numeric_state condition needs 'above', 'below' or both")
        return None
    if kind == "time" and not any(k in value for k in ("after", "before", "weekday")):
        issues.add(path, "time condition needs 'after', 'before' or 'weekday'")
        return None
    return run_schema(schema, dict(value), path, issues)


# -- compilation -----------------------------------------------------------------------------------
def compile_conditions(hub: Hub, configs: list[dict[str, Any]], cache: TemplateCache) -> Checker:
    """All conditions must hold (the implicit `and` of an automation's `conditions:`)."""
    checkers = [compile_condition(hub, cfg, cache) for cfg in configs]

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        return all(checker(variables, notes) for checker in checkers)

    return check


def compile_condition(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    checker = _COMPILERS[cfg["condition"]](hub, cfg, cache)
    enabled = cfg.get("enabled", True)
    if enabled is True:
        return checker
    if enabled is False:
        return lambda variables, notes=None: True

    def maybe(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        if not result_is_true(cache.render(enabled, variables)):
            return True
        return checker(variables, notes)

    return maybe


def _note(notes: list[str] | None, text: str) -> None:
    if notes is not None:
        notes.append(text)


def _and(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    checkers = [compile_condition(hub, c, cache) for c in cfg["conditions"]]
    return lambda v, notes=None: all(c(v, notes) for c in checkers)


def _or(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    checkers = [compile_condition(hub, c, cache) for c in cfg["conditions"]]

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        inner: list[str] = []
        if any(c(variables, inner) for c in checkers):
            return True
        _note(notes, "none of the 'or' conditions held: " + "; ".join(inner))
        return False

    return check


def _not(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    checkers = [compile_condition(hub, c, cache) for c in cfg["conditions"]]

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        for index, checker in enumerate(checkers):
            if checker(variables, None):
                _note(notes, f"'not' condition: its condition {index} held")
                return False
        return True

    return check


def _state(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    ids: list[str] = cfg["entity_id"]
    wanted = cfg["state"]
    wanted_set = None if wanted is None else [str(w) for w in wanted]
    attribute = cfg.get("attribute")
    period = cfg.get("for")
    match_any = cfg.get("match") == "any"

    def one(entity_id: str, variables: Mapping[str, Any], notes: list[str] | None) -> bool:
        state = hub.states.get(entity_id)
        if state is None:
            _note(notes, f"{entity_id} does not exist")
            return False
        value = state.attributes.get(attribute) if attribute else state.state
        if wanted_set is not None and str(value) not in wanted_set and value not in wanted:
            what = f"{entity_id}.{attribute}" if attribute else entity_id
            _note(notes, f"{what} is {value!r}, wanted {' or '.join(map(repr, wanted_set))}")
            return False
        if period is not None:
            seconds = render_period(cache, period, variables)
            held = time.time() - state.last_changed
            if held < seconds:
                _note(notes, f"{entity_id} has been {value!r} for {held:.0f} s, wanted {seconds:.0f} s")
                return False
        return True

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        if match_any:
            inner: list[str] = []
            if any(one(e, variables, inner) for e in ids):
                return True
            _note(notes, "; ".join(inner))
            return False
        return all(one(e, variables, notes) for e in ids)

    return check


def numeric_value(hub: Hub, entity_id: str, attribute: str | None) -> float | None:
    state = hub.states.get(entity_id)
    if state is None:
        return None
    raw = state.attributes.get(attribute) if attribute else state.state
    try:
        return float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _limit(hub: Hub, limit: float | str | None) -> float | None:
    if limit is None or isinstance(limit, float):
        return limit
    return numeric_value(hub, limit, None)


def numeric_matches(
    hub: Hub,
    value: float | None,
    above: float | str | None,
    below: float | str | None,
) -> tuple[bool, str]:
    if value is None:
        return False, "value is not a number"
    low, high = _limit(hub, above), _limit(hub, below)
    if above is not None and (low is None or not value > low):
        return False, f"{value} is not above {above if low is None else low}"
    if below is not None and (high is None or not value < high):
        return False, f"{value} is not below {below if high is None else high}"
    return True, ""


def _numeric(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    ids: list[str] = cfg["entity_id"]
    attribute = cfg.get("attribute")
    value_template = cfg.get("value_template")
    above, below = cfg.get("above"), cfg.get("below")

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        for entity_id in ids:
            state = hub.states.get(entity_id)
            if state is None:
                _note(notes, f"{entity_id} does not exist")
                return False
            if value_template:
                try:
                    rendered = cache.get(value_template).render({**variables, "state": state})
                    value: float | None = float(rendered)
                except (TemplateError, TypeError, ValueError):
                    value = None
            else:
                value = numeric_value(hub, entity_id, attribute)
            ok, why = numeric_matches(hub, value, above, below)
            if not ok:
                _note(notes, f"{entity_id}: {why}")
                return False
        return True

    return check


def _template(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    text = cfg["value_template"]

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        try:
            ok = cache.truthy(text, variables)
        except TemplateError as err:
            _note(notes, str(err))
            return False
        if not ok:
            _note(notes, f"template {text!r} rendered false")
        return ok

    return check


def _time_value(hub: Hub, spec: str) -> dtime | None:
    if _TIME_RE.match(spec):
        return dtime.fromisoformat(spec if spec.count(":") == 2 else spec + ":00")
    state = hub.states.get(spec)
    if state is None:
        return None
    text = state.state
    try:
        if _TIME_RE.match(text):
            return dtime.fromisoformat(text if text.count(":") == 2 else text + ":00")
        return datetime.fromisoformat(text).astimezone().time().replace(tzinfo=None)
    except ValueError:
        return None


def _time(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    after_spec, before_spec = cfg.get("after"), cfg.get("before")
    weekdays = cfg.get("weekday")

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        now = datetime.now()
        if weekdays and WEEKDAYS[now.weekday()] not in weekdays:
            _note(notes, f"today is {WEEKDAYS[now.weekday()]}, wanted {', '.join(weekdays)}")
            return False
        after = _time_value(hub, after_spec) if after_spec else dtime(0, 0)
        before = _time_value(hub, before_spec) if before_spec else dtime(23, 59, 59, 999999)
        if after is None or before is None:
            _note(notes, f"time condition: {after_spec if after is None else before_spec} has no usable time")
            return False
        current = now.time()
        ok = after <= current < before if after <= before else (current >= after or current < before)
        if not ok:
            _note(notes, f"time {current.strftime('%H:%M:%S')} is not between {after} and {before}")
        return ok

    return check


def _trigger(hub: Hub, cfg: Mapping[str, Any], cache: TemplateCache) -> Checker:
    ids = [str(i) for i in cfg["id"]]

    def check(variables: Mapping[str, Any], notes: list[str] | None = None) -> bool:
        trigger = variables.get("trigger") or {}
        got = trigger.get("id") if isinstance(trigger, Mapping) else None
        if str(got) in ids:
            return True
        _note(notes, f"trigger id is {got!r}, wanted {' or '.join(ids)}")
        return False

    return check


_COMPILERS: dict[str, Callable[[Hub, Mapping[str, Any], TemplateCache], Checker]] = {
    "and": _and,
    "or": _or,
    "not": _not,
    "state": _state,
    "numeric_state": _numeric,
    "template": _template,
    "time": _time,
    "trigger": _trigger,
}

__all__ = ["CONDITION_TYPES", "Checker", "boolean", "compile_condition", "compile_conditions", "validate_conditions"]
