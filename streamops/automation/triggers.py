"""Triggers: the built-in platforms, the ones components provide, validation and attaching.

Built-ins: `event` (with `event_data` matching), `state` (from/to/`for`), `numeric_state`
(above/below/`for`), `time`, `time_pattern`, `template`, `streamops` (start/shutdown; Home
Assistant's `homeassistant` is accepted as an alias), and `file_closed` (a fallback over the
`file_closed` event; a component that provides its own `file_closed` platform replaces it).

Components add platforms by listing them in their manifest (`trigger_platforms: [name]`) and
defining `TRIGGERS: dict[str, TriggerPlatform]` in `<package>/trigger.py`; they are found through
`streamops.loader.discover()`, so `check-config` validates them without setting anything up.

Dispatch cost does not grow with automations that do not match: event triggers are bus listeners
(the bus indexes them by event type) and state/numeric_state triggers go through the shared state
tracker (indexed by entity id). Only template triggers whose entities cannot be read from the
template text listen to every state change.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import voluptuous as vol
import yaml

from ..core import EVENT_STATE_CHANGED, EVENT_STREAMOPS_STARTED, EVENT_STREAMOPS_STOP, Context, Event, Hub, State
from ..core.hub import CoreState
from ..helpers.event import async_track_state_change_event
from ..helpers.trigger_platform import TriggerAction, TriggerInfo, TriggerPlatform
from ..script import schema as script_schema
from ..script.conditions import WEEKDAYS, numeric_matches, weekday_list
from ..script.templating import TemplateCache, render_period, result_is_true
from ..script.validation import (
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
from ..templates import TemplateError

_LOGGER = logging.getLogger(__name__)

Unsubscribe = Callable[[], None]
COMMON_KEYS = ("id", "alias", "enabled", "variables", "description")
_ANY = object()


# -- shared helpers --------------------------------------------------------------------------------
def _call(hub: Hub, action: TriggerAction, payload: dict[str, Any], context: Context | None) -> None:
    result = action(payload, context)
    if result is not None and hasattr(result, "__await__"):
        hub.async_create_task(result)


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """`**` crosses folders, `*` and `?` stay inside one; `/` and `\\` are the same separator."""
    text = pattern.replace("\\", "/")
    out = []
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE)


# -- event -----------------------------------------------------------------------------------------
_EVENT_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): "event",
        vol.Required("event_type"): string_list,
        vol.Optional("event_data"): dict,
        vol.Optional("context"): dict,
    }
)


def _data_matches(wanted: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        if key not in data:
            return False
        got = data[key]
        if isinstance(value, Mapping) and isinstance(got, Mapping):
            if not _data_matches(value, got):
                return False
        elif got != value and str(got) != str(value):
            return False
    return True


async def _attach_event(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    wanted = config.get("event_data") or {}
    context_filter = config.get("context") or {}

    def matches(event: Event) -> bool:
        if wanted and not _data_matches(wanted, event.data):
            return False
        if context_filter:
            ctx = event.context
            for key in ("user_id", "parent_id", "id"):
                allowed = context_filter.get(key)
                if allowed is not None and getattr(ctx, key) not in ensure_list(allowed):
                    return False
        return True

    def fire(event: Event) -> None:
        _call(
            hub,
            action,
            {"platform": "event", "event": event, "description": f"event '{event.event_type}'"},
            event.context,
        )

    unsubs = [
        hub.bus.async_listen(etype, fire, event_filter=matches if (wanted or context_filter) else None)
        for etype in config["event_type"]
    ]
    return lambda: [u() for u in unsubs] and None


# -- state -----------------------------------------------------------------------------------------
def _state_values(value: Any) -> Any:
    if value is None:
        return None
    return [str(v) for v in ensure_list(value)]


_STATE_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): "state",
        vol.Required("entity_id"): entity_ids,
        vol.Optional("from"): vol.Any(None, _state_values),
        vol.Optional("to"): vol.Any(None, _state_values),
        vol.Optional("not_from"): _state_values,
        vol.Optional("not_to"): _state_values,
        vol.Optional("attribute"): str,
        vol.Optional("for"): period_or_template,
    }
)


class _ForTimers:
    """Pending `for:` timers per entity, cancelled when the condition stops holding or on detach."""

    def __init__(self) -> None:
        self.handles: dict[str, asyncio.TimerHandle] = {}

    def cancel(self, entity_id: str) -> None:
        handle = self.handles.pop(entity_id, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for handle in self.handles.values():
            handle.cancel()
        self.handles.clear()


async def _attach_state(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    ids: list[str] = config["entity_id"]
    from_s = config.get("from", _ANY)
    to_s = config.get("to", _ANY)
    not_from = config.get("not_from")
    not_to = config.get("not_to")
    attribute = config.get("attribute")
    period = config.get("for")
    match_all = from_s is _ANY and to_s is _ANY and not_from is None and not_to is None and attribute is None
    timers = _ForTimers()
    cache = TemplateCache(hub)

    def value_of(state: State | None) -> Any:
        if state is None:
            return None
        return state.attributes.get(attribute) if attribute else state.state

    def accepts(wanted: Any, value: Any) -> bool:
        return wanted is _ANY or wanted is None or (value is not None and str(value) in wanted)

    def on_change(event: Event) -> None:
        entity_id = event.data["entity_id"]
        old: State | None = event.data.get("old_state")
        new: State | None = event.data.get("new_state")
        old_v, new_v = value_of(old), value_of(new)
        # A pending `for` survives changes that keep the matched value (e.g. attribute updates).
        if entity_id in timers.handles:
            if new is None or new_v != timers_value.get(entity_id):
                timers.cancel(entity_id)
            else:
                return
        if new is None:
            return
        if not match_all:
            if attribute is not None and new is not None and attribute not in new.attributes and to_s is not _ANY:
                return
            if old_v == new_v and old is not None:
                return  # value unchanged: an attribute-only update of a state trigger, or vice versa
            if from_s is not _ANY and from_s is not None and (old is None or not accepts(from_s, old_v)):
                return
            if to_s is not _ANY and to_s is not None and not accepts(to_s, new_v):
                return
            if not_from is not None and old is not None and str(old_v) in not_from:
                return
            if not_to is not None and str(new_v) in not_to:
                return
        payload = {
            "platform": "state",
            "entity_id": entity_id,
            "from_state": old,
            "to_state": new,
            "attribute": attribute,
            "for": None,
            "description": f"state of {entity_id}",
        }
        if period is None:
            _call(hub, action, payload, event.context)
            return
        try:
            seconds = render_period(cache, period, {**info.variables, "trigger": payload})
        except TemplateError as err:
            _LOGGER.error("%s: invalid 'for' in state trigger: %s", info.name, err)
            return
        payload["for"] = seconds
        timers_value[entity_id] = new_v

        def fire_later() -> None:
            timers.handles.pop(entity_id, None)
            _call(hub, action, payload, event.context)

        timers.handles[entity_id] = hub.loop.call_later(seconds, fire_later)

    timers_value: dict[str, Any] = {}
    unsub = async_track_state_change_event(hub, ids, on_change)

    def remove() -> None:
        unsub()
        timers.cancel_all()

    return remove


# -- numeric_state ---------------------------------------------------------------------------------
def _number_or_entity(value: Any) -> float | str:
    from ..script.conditions import _number_or_entity as impl

    return impl(value)


_NUMERIC_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): "numeric_state",
        vol.Required("entity_id"): entity_ids,
        vol.Optional("attribute"): str,
        vol.Optional("value_template"): template_str,
        vol.Optional("above"): _number_or_entity,
        vol.Optional("below"): _number_or_entity,
        vol.Optional("for"): period_or_template,
    }
)


async def _attach_numeric(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    ids: list[str] = config["entity_id"]
    attribute = config.get("attribute")
    value_template = config.get("value_template")
    above, below = config.get("above"), config.get("below")
    period = config.get("for")
    cache = TemplateCache(hub)
    timers = _ForTimers()

    def value_of(state: State | None) -> float | None:
        if state is None:
            return None
        if value_template:
            try:
                return float(cache.get(value_template).render({**info.variables, "state": state}))
            except (TemplateError, TypeError, ValueError):
                return None
        raw = state.attributes.get(attribute) if attribute else state.state
        try:
            return float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def on_change(event: Event) -> None:
        entity_id = event.data["entity_id"]
        old, new = event.data.get("old_state"), event.data.get("new_state")
        new_ok = new is not None and numeric_matches(hub, value_of(new), above, below)[0]
        if not new_ok:
            timers.cancel(entity_id)
            return
        old_ok = old is not None and numeric_matches(hub, value_of(old), above, below)[0]
        if old_ok:
            return  # already above/below: only a crossing fires
        payload = {
            "platform": "numeric_state",
            "entity_id": entity_id,
            "from_state": old,
            "to_state": new,
            "above": above,
            "below": below,
            "attribute": attribute,
            "for": None,
            "description": f"numeric state of {entity_id}",
        }
        if period is None:
            _call(hub, action, payload, event.context)
            return
        try:
            seconds = render_period(cache, period, {**info.variables, "trigger": payload})
        except TemplateError as err:
            _LOGGER.error("%s: invalid 'for' in numeric_state trigger: %s", info.name, err)
            return
        payload["for"] = seconds

        def fire_later() -> None:
            timers.handles.pop(entity_id, None)
            _call(hub, action, payload, event.context)

        timers.cancel(entity_id)
        timers.handles[entity_id] = hub.loop.call_later(seconds, fire_later)

    unsub = async_track_state_change_event(hub, ids, on_change)

    def remove() -> None:
        unsub()
        timers.cancel_all()

    return remove


# -- time ------------------------------------------------------------------------------------------
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _at(value: Any) -> str:
    text = str(value).strip()
    match = _TIME_RE.match(text)
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise vol.Invalid(f"invalid time {value!r}")
        return f"{hour:02d}:{minute:02d}:{second:02d}"
    try:
        return entity_ids(text)[0]
    except vol.Invalid:
        raise vol.Invalid(f"expected a time 'HH:MM[:SS]' or an entity id, got {value!r}") from None


_TIME_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): "time",
        vol.Required("at"): vol.All(ensure_list, [_at]),
        vol.Optional("weekday"): weekday_list,
    }
)


def _next_time_of_day(now: datetime, hour: int, minute: int, second: int) -> datetime:
    target = now.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return target


class _WallTimer:
    """Calls `fire(when)` at wall-clock datetimes computed by `next_at(after)`; re-arms itself."""

    def __init__(self, hub: Hub, next_at: Callable[[datetime], datetime | None], fire: Callable[[datetime], None]):
        self.hub = hub
        self.next_at = next_at
        self.fire = fire
        self.handle: asyncio.TimerHandle | None = None
        self.stopped = False

    def arm(self, after: datetime | None = None) -> None:
        if self.stopped:
            return
        if self.handle is not None:
            self.handle.cancel()
        when = self.next_at(after or datetime.now())
        if when is None:
            self.handle = None
            return
        delay = max(0.0, (when - datetime.now()).total_seconds())
        self.handle = self.hub.loop.call_later(delay, self._due, when)

    def _due(self, when: datetime) -> None:
        remaining = (when - datetime.now()).total_seconds()
        if remaining > 0.001:  # woke up early (clock adjustments): wait the rest
            self.handle = self.hub.loop.call_later(remaining, self._due, when)
            return
        self.fire(when)
        self.arm(when)

    def stop(self) -> None:
        self.stopped = True
        if self.handle is not None:
            self.handle.cancel()


def _entity_time(state: State | None) -> tuple[str, Any] | None:
    """('time', (h, m, s)) or ('datetime', datetime) from an entity holding a time or a timestamp."""
    if state is None:
        return None
    text = state.state
    match = _TIME_RE.match(text)
    if match:
        return "time", (int(match[1]), int(match[2]), int(match[3] or 0))
    try:
        return "datetime", datetime.fromisoformat(text).astimezone().replace(tzinfo=None)
    except ValueError:
        return None


async def _attach_time(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    weekdays = config.get("weekday")
    timers: list[_WallTimer] = []
    unsubs: list[Unsubscribe] = []
    for spec in config["at"]:

        def fire(when: datetime, spec: str = spec) -> None:
            if weekdays and WEEKDAYS[when.weekday()] not in weekdays:
                return
            payload = {
                "platform": "time",
                "now": datetime.now().astimezone(),
                "at": spec,
                "description": f"time {spec}",
                **({"entity_id": spec} if "." in spec else {}),
            }
            _call(hub, action, payload, None)

        if _TIME_RE.match(spec):
            hour, minute, second = (int(p) for p in spec.split(":"))

            def next_at(after: datetime, h: int = hour, m: int = minute, s: int = second) -> datetime:
                return _next_time_of_day(after, h, m, s)

            timer = _WallTimer(hub, next_at, fire)
        else:

            def next_from_entity(after: datetime, entity_id: str = spec) -> datetime | None:
                parsed = _entity_time(hub.states.get(entity_id))
                if parsed is None:
                    return None
                kind, value = parsed
                if kind == "time":
                    return _next_time_of_day(after, *value)
                return value if value > after else None

            timer = _WallTimer(hub, next_from_entity, fire)
            unsubs.append(async_track_state_change_event(hub, spec, lambda _e, t=timer: t.arm()))
        timer.arm()
        timers.append(timer)

    def remove() -> None:
        for timer in timers:
            timer.stop()
        for unsub in unsubs:
            unsub()

    return remove


# -- time_pattern ----------------------------------------------------------------------------------
def _pattern_field(limit: int) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < limit:
                raise vol.Invalid(f"expected 0..{limit - 1}, got {value}")
            return value
        text = str(value).strip()
        if text == "*":
            return "*"
        if text.startswith("/") and text[1:].isdigit() and 0 < int(text[1:]) < limit:
            return text
        if text.isdigit() and 0 <= int(text) < limit:
            return int(text)
        raise vol.Invalid(f"expected a number 0..{limit - 1}, '*' or '/N', got {value!r}")

    return validate


_TIME_PATTERN_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): "time_pattern",
        vol.Optional("hours"): _pattern_field(24),
        vol.Optional("minutes"): _pattern_field(60),
        vol.Optional("seconds"): _pattern_field(60),
    }
)


def _field_values(value: Any, limit: int) -> list[int]:
    if value == "*":
        return list(range(limit))
    if isinstance(value, str) and value.startswith("/"):
        return list(range(0, limit, int(value[1:])))
    return [int(value)]


def pattern_sets(config: Mapping[str, Any]) -> tuple[list[int], list[int], list[int]]:
    """Home Assistant's defaults: unset smaller units are 0 when a larger one is set, else '*'."""
    hours, minutes, seconds = config.get("hours"), config.get("minutes"), config.get("seconds")
    if seconds is None:
        seconds = 0
    if minutes is None:
        minutes = 0 if hours is not None else "*"
    if hours is None:
        hours = "*"
    return _field_values(hours, 24), _field_values(minutes, 60), _field_values(seconds, 60)


def next_pattern_time(after: datetime, hours: list[int], minutes: list[int], seconds: list[int]) -> datetime:
    """The first time strictly after `after` whose hour, minute and second are in the sets."""
    start = after.replace(microsecond=0) + timedelta(seconds=1)
    for day in range(2):
        base = (start + timedelta(days=day)).replace(hour=0, minute=0, second=0)
        for hour in hours:
            for minute in minutes:
                if day == 0 and (hour, minute) < (start.hour, start.minute):
                    continue
                for second in seconds:
                    candidate = base.replace(hour=hour, minute=minute, second=second)
                    if candidate >= start:
                        return candidate
    raise RuntimeError("no matching time found")  # unreachable with non-empty sets


async def _attach_time_pattern(
    hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo
) -> Unsubscribe:
    hours, minutes, seconds = pattern_sets(config)

    def fire(when: datetime) -> None:
        _call(hub, action, {"platform": "time_pattern", "now": when.astimezone(), "description": "time pattern"}, None)

    timer = _WallTimer(hub, lambda after: next_pattern_time(after, hours, minutes, seconds), fire)
    timer.arm()
    return timer.stop


# -- template --------------------------------------------------------------------------------------
_TEMPLATE_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): "template",
        vol.Required("value_template"): template_str,
        vol.Optional("for"): period_or_template,
    }
)
_ENTITY_REFS = re.compile(
    r"""(?:states|is_state|state_attr|is_state_attr)\(\s*['"]([a-z0-9_]+\.[a-z0-9_]+)['"]"""
    r"""|states\.([a-z0-9_]+\.[a-z0-9_]+)"""
)


def template_entities(text: str) -> list[str] | None:
    """Entity ids a template reads, when they can be read from its text; None when it may read any
    (a computed id, `states.sensor` iterated, ...): then every state change re-renders it."""
    found = sorted({a or b for a, b in _ENTITY_REFS.findall(text)})
    rest = _ENTITY_REFS.sub("", text)
    if re.search(r"\b(states|is_state|state_attr|is_state_attr)\b", rest):
        return None
    return found


async def _attach_template(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    text = config["value_template"]
    period = config.get("for")
    cache = TemplateCache(hub)
    template = cache.get(text)
    timers = _ForTimers()

    def render() -> bool:
        try:
            return result_is_true(template.render(info.variables))
        except TemplateError as err:
            _LOGGER.warning("%s: template trigger failed to render: %s", info.name, err)
            return False

    last = {"value": render()}

    def on_change(event: Event | None) -> None:
        value = render()
        previous = last["value"]
        last["value"] = value
        if not value:
            timers.cancel("t")
            return
        if previous:
            return
        payload = {
            "platform": "template",
            "entity_id": event.data.get("entity_id") if event else None,
            "from_state": event.data.get("old_state") if event else None,
            "to_state": event.data.get("new_state") if event else None,
            "for": None,
            "description": f"template {text}",
        }
        context = event.context if event else None
        if period is None:
            _call(hub, action, payload, context)
            return
        try:
            seconds = render_period(cache, period, {**info.variables, "trigger": payload})
        except TemplateError as err:
            _LOGGER.error("%s: invalid 'for' in template trigger: %s", info.name, err)
            return
        payload["for"] = seconds

        def fire_later() -> None:
            timers.handles.pop("t", None)
            _call(hub, action, payload, context)

        timers.cancel("t")
        timers.handles["t"] = hub.loop.call_later(seconds, fire_later)

    entities = template_entities(text)
    unsubs: list[Unsubscribe] = []
    if entities is None:
        unsubs.append(hub.bus.async_listen(EVENT_STATE_CHANGED, on_change))
    elif entities:
        unsubs.append(async_track_state_change_event(hub, entities, on_change))
    if "now()" in text or "utcnow()" in text:
        timer = _WallTimer(
            hub,
            lambda after: next_pattern_time(after, list(range(24)), list(range(60)), [0]),
            lambda _when: on_change(None),
        )
        timer.arm()
        unsubs.append(timer.stop)

    def remove() -> None:
        for unsub in unsubs:
            unsub()
        timers.cancel_all()

    return remove


# -- streamops (start / shutdown) ------------------------------------------------------------------
_STREAMOPS_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): vol.In(["streamops", "homeassistant"]),
        vol.Required("event"): vol.In(["start", "shutdown"]),
    }
)


async def _attach_streamops(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    kind = config["event"]

    def fire(event: Event) -> None:
        _call(hub, action, {"platform": "streamops", "event": kind, "description": f"streamops {kind}"}, event.context)

    if kind == "start":
        if hub.state in (CoreState.RUNNING, CoreState.SAFE_MODE):
            return lambda: None  # attached after start (a reload): start already happened
        return hub.bus.async_listen_once(EVENT_STREAMOPS_STARTED, fire)
    return hub.bus.async_listen_once(EVENT_STREAMOPS_STOP, fire)


# -- file_closed (fallback over the event) ---------------------------------------------------------
EVENT_FILE_CLOSED = "file_closed"
_FILE_CLOSED_SCHEMA = vol.Schema(
    {
        vol.Required("trigger"): "file_closed",
        vol.Optional("path_glob"): vol.All(ensure_list, [str]),
        vol.Optional("extensions"): vol.All(ensure_list, [str]),
        vol.Optional("drive"): vol.All(ensure_list, [str]),
        vol.Optional("min_quiet_seconds", default=0): vol.All(vol.Coerce(float), vol.Range(min=0)),
    }
)


async def _attach_file_closed(
    hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo
) -> Unsubscribe:
    globs = [glob_to_regex(p) for p in config.get("path_glob") or []]
    extensions = {e.lower() if e.startswith(".") else "." + e.lower() for e in config.get("extensions") or []}
    drives = set(config.get("drive") or [])
    quiet = float(config.get("min_quiet_seconds") or 0)
    handles: set[asyncio.TimerHandle] = set()

    def matches(event: Event) -> bool:
        path = str(event.data.get("path", ""))
        if not path:
            return False
        normalised = path.replace("\\", "/")
        if globs and not any(g.match(normalised) for g in globs):
            return False
        if extensions and os.path.splitext(normalised)[1].lower() not in extensions:
            return False
        return not (drives and str(event.data.get("drive")) not in drives)

    def fire(event: Event) -> None:
        path = str(event.data["path"])
        payload = {
            **{k: v for k, v in event.data.items() if isinstance(k, str)},
            "platform": "file_closed",
            "path": path,
            "event": event,
            "description": f"file closed: {path}",
        }
        if quiet > 0:
            try:
                age = time.time() - os.stat(path).st_mtime
            except OSError:
                age = quiet
            if age < quiet:
                # Still within the quiet window: check again when it ends, fire only if unchanged.
                def recheck(mtime: float | None = _mtime(path)) -> None:
                    if _mtime(path) == mtime:
                        _call(hub, action, payload, event.context)

                handle = hub.loop.call_later(quiet - age, recheck)
                handles.add(handle)
                return
        _call(hub, action, payload, event.context)

    unsub = hub.bus.async_listen(EVENT_FILE_CLOSED, fire, event_filter=matches)

    def remove() -> None:
        unsub()
        for handle in handles:
            handle.cancel()

    return remove


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


BUILTIN_PLATFORMS: dict[str, TriggerPlatform] = {
    "event": TriggerPlatform(_EVENT_SCHEMA, _attach_event),
    "state": TriggerPlatform(_STATE_SCHEMA, _attach_state),
    "numeric_state": TriggerPlatform(_NUMERIC_SCHEMA, _attach_numeric),
    "time": TriggerPlatform(_TIME_SCHEMA, _attach_time),
    "time_pattern": TriggerPlatform(_TIME_PATTERN_SCHEMA, _attach_time_pattern),
    "template": TriggerPlatform(_TEMPLATE_SCHEMA, _attach_template),
    "streamops": TriggerPlatform(_STREAMOPS_SCHEMA, _attach_streamops),
    "homeassistant": TriggerPlatform(_STREAMOPS_SCHEMA, _attach_streamops),
    "file_closed": TriggerPlatform(_FILE_CLOSED_SCHEMA, _attach_file_closed),
}


# -- component platforms ---------------------------------------------------------------------------
_component_cache: dict[str, Any] = {}


def component_platforms() -> tuple[dict[str, TriggerPlatform], dict[str, str]]:
    """Platforms from components' `trigger.py` (name and `domain.name`), and load errors by name."""
    if "platforms" in _component_cache:
        return _component_cache["platforms"], _component_cache["errors"]
    from ..loader import discover

    platforms: dict[str, TriggerPlatform] = {}
    errors: dict[str, str] = {}
    for domain, integration in sorted(discover().items()):
        try:
            manifest = yaml.safe_load((integration.path / "manifest.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        names = manifest.get("trigger_platforms") or []
        if not names:
            continue
        try:
            module = importlib.import_module(f"{integration.package}.trigger")
            triggers = module.TRIGGERS
        except Exception as err:
            for name in names:
                errors[name] = errors[f"{domain}.{name}"] = f"{integration.package}.trigger failed to load: {err}"
            continue
        for name in names:
            platform = triggers.get(name)
            if platform is None:
                errors[name] = f"{integration.package}.trigger has no TRIGGERS[{name!r}]"
                continue
            platforms[name] = platforms[f"{domain}.{name}"] = platform
    _component_cache["platforms"], _component_cache["errors"] = platforms, errors
    return platforms, errors


def reset_platform_cache() -> None:
    _component_cache.clear()


def get_platform(name: str) -> TriggerPlatform | None:
    components, _errors = component_platforms()
    return components.get(name) or BUILTIN_PLATFORMS.get(name)


def platform_names() -> list[str]:
    components, _errors = component_platforms()
    return sorted({*BUILTIN_PLATFORMS, *components})


# -- validation ------------------------------------------------------------------------------------
def validate_triggers(value: Any, path: Path, issues: Issues) -> list[dict[str, Any]]:
    """A list (or one) of trigger configs, normalised (`platform:` → `trigger:`)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for index, item in enumerate(items):
        where = (*path, index) if isinstance(value, list) else path
        trigger = validate_trigger(item, where, issues)
        if trigger is not None:
            out.append(trigger)
    return out


def validate_trigger(value: Any, path: Path, issues: Issues) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        issues.add(path, f"expected a trigger (mapping with 'trigger: <platform>'), got {value!r}")
        return None
    config = dict(value)
    if "platform" in config:
        if "trigger" in config:
            issues.add((*path, "platform"), "use either 'trigger' or the older 'platform', not both")
            return None
        config["trigger"] = config.pop("platform")
    name = config.get("trigger")
    if name is None:
        issues.add(path, f"missing 'trigger:' (one of {', '.join(platform_names())})")
        return None
    platform = get_platform(str(name))
    if platform is None:
        _components, errors = component_platforms()
        if str(name) in errors:
            issues.add((*path, "trigger"), f"trigger platform '{name}' is unavailable: {errors[str(name)]}")
        else:
            issues.add(
                (*path, "trigger"),
                f"unknown trigger platform '{name}'{suggest(name, platform_names())} "
                f"(available: {', '.join(platform_names())})",
            )
        return None
    common: dict[str, Any] = {}
    for key in COMMON_KEYS:
        if key in config:
            common[key] = config.pop(key)
    if "id" in common:
        common["id"] = str(common["id"])
    if "enabled" in common:
        try:
            common["enabled"] = boolean(common["enabled"])
        except vol.Invalid as err:
            issues.add((*path, "enabled"), str(err))
    if "variables" in common and not isinstance(common["variables"], Mapping):
        issues.add((*path, "variables"), "expected a mapping of variables")
    config["trigger"] = str(name)
    validated = run_schema(platform.schema, config, path, issues)
    if validated is None:
        return None
    if str(name) == "numeric_state" and "above" not in validated and "below" not in validated:
        issues.add(path, "numeric_state trigger needs 'above', 'below' or both")
        return None
    if str(name) == "time_pattern" and not any(k in validated for k in ("hours", "minutes", "seconds")):
        issues.add(path, "time_pattern trigger needs 'hours', 'minutes' or 'seconds'")
        return None
    return {**dict(validated), **common}


script_schema.set_trigger_validator(validate_triggers)


# -- attaching -------------------------------------------------------------------------------------
async def async_attach_triggers(
    hub: Hub,
    configs: Iterable[Mapping[str, Any]],
    action: TriggerAction,
    *,
    name: str = "trigger",
    automation_id: str = "",
    variables: Mapping[str, Any] | None = None,
    validate: bool = False,
) -> Unsubscribe:
    """Attach triggers; `action(trigger_payload, context)` runs for each firing. Returns unsubscribe.

    The payload gets `id` (the trigger's `id:` or its index), `idx`, `alias` and the trigger's own
    `variables:` rendered, as Home Assistant's `trigger` variable has. With `validate=True`, raw
    configs (e.g. from a WebSocket `subscribe_trigger`) are validated first; a ValueError lists the
    problems.
    """
    config_list = list(configs)
    if validate:
        issues = Issues()
        config_list = validate_triggers(config_list, (), issues)
        if issues:
            raise ValueError("; ".join(f"{'/'.join(map(str, p)) or 'trigger'}: {m}" for p, m in issues.items))
    cache = TemplateCache(hub)
    unsubs: list[Unsubscribe] = []
    base_vars = dict(variables or {})
    for idx, config in enumerate(config_list):
        if config.get("enabled", True) is False:
            continue
        platform = get_platform(config["trigger"])
        if platform is None:
            raise ValueError(f"unknown trigger platform {config['trigger']!r}")
        trigger_id = str(config.get("id", idx))
        info = TriggerInfo(automation_id=automation_id, name=name, trigger_id=trigger_id, variables=base_vars)
        extra = {"id": trigger_id, "idx": str(idx), "alias": config.get("alias")}
        trigger_vars = config.get("variables")

        def wrapped(
            payload: dict[str, Any],
            context: Context | None = None,
            extra: dict[str, Any] = extra,
            trigger_vars: Any = trigger_vars,
        ) -> Any:
            full = {**payload, **extra}
            if trigger_vars:
                try:
                    full["variables"] = cache.render(trigger_vars, {**base_vars, "trigger": full})
                except TemplateError as err:
                    _LOGGER.error("%s: trigger variables failed to render: %s", name, err)
            return action(full, context)

        platform_config = {k: v for k, v in config.items() if k not in COMMON_KEYS}
        try:
            unsubs.append(await platform.attach(hub, platform_config, wrapped, info))
        except Exception:
            for unsub in unsubs:
                unsub()
            raise

    def remove_all() -> None:
        for unsub in unsubs:
            try:
                unsub()
            except Exception:
                _LOGGER.exception("Error detaching a trigger of %s", name)
        unsubs.clear()

    return remove_all
