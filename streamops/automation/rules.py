"""The original StreamOps rule format, converted into an ordinary automation.

    name: Remux-MKV-to-MOV-and-Move
    enabled: true
    priority: 10
    when: {any: [{event: file_closed, path_glob: "/mnt/a/Recordings/**/*.mkv", min_quiet_seconds: 45}]}
    do:
      - ffmpeg_remux: {container: mov, faststart: true}
      - move: {dest: "/mnt/f/Editing/{Game}/{YYYY}/{MM}/{DD}/"}
      - write_sidecar: {fields: [game, scene]}
      - index_asset: {}
      - make_proxies_if: {min_duration_sec: 900, codec: dnxhr_lb}
    pause_if_recording: true

Conventions (the same engine runs it, so traces, simulate and modes work as for any automation):

- The run has a variable `file`, the rule's *current file*: first `trigger.path`, then the `output`
  of each step that produces a new main file (ffmpeg_remux, move, transcode_preset, archive). Every
  file step is called with the current file (`input:` for media.*, `source:` for move, copy and
  archive, `path:` for the others) plus its parameters renamed to the services' names
  (`container` → `format`, `dest` → `destination`, `tags` → `add`), so the move moves the remux's
  output. `info` accumulates every step response (a dict), e.g. the duration that index_asset found.
- `make_proxies_if: {min_duration_sec: N, ...}` becomes `if: duration > N then media.proxy`, where
  the duration is `info.duration_sec` (or `info.duration`) from an earlier step — as in the
  original example, index_asset comes first. An unknown duration is "not longer" (and the trace
  says so).
- Guardrail keys (`pause_if_recording`, `pause_if_gpu_pct_above`, `pause_if_cpu_pct_above`, at the
  rule level or under `guardrails:`) go into every media.* call as `guardrails: {...}`: those are
  the heavy jobs the job queue pauses.
- `mode: queued` (max 100): a burst of closed files is processed one after another, none dropped.
- `priority`: higher first — automations with higher priority attach their triggers first, so for
  the same event their runs start first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.yaml_loader import NodeDict, NodeList, node_location
from ..core.util import slugify
from ..script.validation import Issues, Path, suggest

RULE_KEYS = ("name", "id", "description", "enabled", "priority", "when", "do", "guardrails", "mode", "max")
GUARDRAIL_KEYS = ("pause_if_recording", "pause_if_gpu_pct_above", "pause_if_cpu_pct_above")

# Built-in action → service. Steps marked True produce the rule's new current file (`output`).
RULE_ACTIONS: dict[str, tuple[str, bool]] = {
    "ffmpeg_remux": ("media.remux", True),
    "move": ("files.move", True),
    "copy": ("files.copy", False),
    "index_asset": ("assets.index", False),
    "thumbs": ("media.thumbnail", False),
    "sprite": ("media.sprite", False),
    "hover_mp4": ("media.hover", False),
    "waveform": ("media.waveform", False),
    "proxy": ("media.proxy", False),
    "transcode_preset": ("media.transcode", True),
    "social_export": ("media.social_export", False),
    "archive": ("files.archive", True),
    "tag": ("assets.tag", False),
    "overlay_update": ("overlay.update", False),
    "report_emit": ("reports.emit", False),
    "custom_hook": ("shell.run", False),
    "write_sidecar": ("files.write_sidecar", False),
    "make_proxies_if": ("media.proxy", False),
}
# Steps that do not act on the current file get no `path`/`input`.
NO_PATH = frozenset({"overlay_update", "report_emit"})
# Parameter names of the original format → the service's. `faststart` is how media.remux always
# writes (the original command's `-movflags +faststart`), so it is dropped, not passed.
# `fields` of write_sidecar is dropped too: files.write_sidecar always writes the session fields
# (game, scene, start/end, bitrate) the original listed; extra ones go under `extra:`.
PARAM_RENAMES: dict[str, dict[str, str]] = {
    "ffmpeg_remux": {"container": "format"},
    "move": {"dest": "destination"},
    "copy": {"dest": "destination"},
    "archive": {"dest": "destination"},
    "tag": {"tags": "add"},
}
PARAM_DROPS: dict[str, frozenset[str]] = {
    "ffmpeg_remux": frozenset({"faststart"}),
    "make_proxies_if": frozenset({"min_duration_sec"}),
    "write_sidecar": frozenset({"fields"}),
}
# The key each service takes the current file under.
SOURCE_KEYS = {"files.move": "source", "files.copy": "source", "files.archive": "source"}
FILE_EVENTS = ("file_closed", "file.closed")
WHEN_FILE_KEYS = ("path_glob", "min_quiet_seconds", "extensions", "ext", "drive")


def is_rule(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and ("do" in value or "when" in value)
        and not any(k in value for k in ("triggers", "trigger", "actions", "action", "use_blueprint"))
    )


def _node(like: Any, data: dict[str, Any]) -> NodeDict:
    """A NodeDict located where `like` was written, so later errors point at the rule's lines."""
    out = NodeDict(data)
    out.file, out.line = node_location(like)
    return out


def _node_list(like: Any, items: list[Any]) -> NodeList:
    out = NodeList(items)
    out.file, out.line = node_location(like)
    out.item_lines = [node_location(i) for i in items]
    return out


def _cron_field(text: str, limit: int) -> Any:
    if text == "*":
        return "*"
    if text.startswith("*/") and text[2:].isdigit():
        return "/" + text[2:]
    if text.isdigit() and int(text) < limit:
        return int(text)
    raise ValueError(text)


def _schedule(value: Any, path: Path, issues: Issues, index: int) -> tuple[dict[str, Any], list[Any]] | None:
    """Cron 'M H * * DOW' → a time_pattern trigger (+ a weekday condition)."""
    parts = str(value).split()
    if len(parts) != 5:
        issues.add(path, f"schedule {value!r}: expected 5 cron fields 'minute hour day month weekday'")
        return None
    minute, hour, dom, month, dow = parts
    if dom != "*" or month != "*":
        issues.add(
            path, f"schedule {value!r}: day-of-month and month must be '*' (use a time trigger with a condition)"
        )
        return None
    try:
        trigger = {
            "trigger": "time_pattern",
            "minutes": _cron_field(minute, 60),
            "hours": _cron_field(hour, 24),
            "seconds": 0,
            "id": f"rule_when_{index}",
        }
    except ValueError as err:
        issues.add(path, f"schedule {value!r}: unsupported cron field '{err}' (use N, * or */N)")
        return None
    conditions: list[Any] = []
    if dow != "*":
        names = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
        try:
            days = [names[int(d)] for d in dow.split(",")]
        except (ValueError, IndexError):
            issues.add(path, f"schedule {value!r}: weekday must be numbers 0-7 separated by commas")
            return None
        conditions.append(
            {
                "condition": "or",
                "conditions": [
                    {"condition": "not", "conditions": [{"condition": "trigger", "id": [trigger["id"]]}]},
                    {"condition": "time", "weekday": days},
                ],
            }
        )
    return trigger, conditions


def _when_item(item: Any, path: Path, issues: Issues, index: int) -> tuple[dict[str, Any], list[Any]] | None:
    if not isinstance(item, Mapping):
        issues.add(path, f"expected a 'when' item such as {{event: file_closed, path_glob: ...}}, got {item!r}")
        return None
    known = ("event", "schedule", *WHEN_FILE_KEYS, "event_data")
    for key in item:
        if key not in known:
            issues.add((*path, key), f"unknown 'when' key '{key}'{suggest(key, known)} (known: {', '.join(known)})")
            return None
    if "schedule" in item:
        return _schedule(item["schedule"], (*path, "schedule"), issues, index)
    event = item.get("event")
    if not event:
        issues.add(path, "a 'when' item needs 'event:' (e.g. file_closed) or 'schedule:'")
        return None
    if str(event) in FILE_EVENTS:
        trigger: dict[str, Any] = {"trigger": "file_closed", "id": f"rule_when_{index}"}
        if "path_glob" in item:
            trigger["path_glob"] = item["path_glob"]
        if "min_quiet_seconds" in item:
            trigger["min_quiet_seconds"] = item["min_quiet_seconds"]
        if "ext" in item or "extensions" in item:
            trigger["extensions"] = item.get("extensions", item.get("ext"))
        if "drive" in item:
            trigger["drive"] = item["drive"]
        return _node(item, trigger), []
    extra = [k for k in item if k in WHEN_FILE_KEYS]
    if extra:
        issues.add((*path, extra[0]), f"'{extra[0]}' only applies to file_closed events")
        return None
    trigger = {"trigger": "event", "event_type": str(event).replace(".", "_"), "id": f"rule_when_{index}"}
    if "event_data" in item:
        trigger["event_data"] = item["event_data"]
    return _node(item, trigger), []


def _when(value: Any, path: Path, issues: Issues) -> tuple[list[Any], list[Any]]:
    if isinstance(value, Mapping) and ("any" in value or "all" in value):
        if "any" in value and "all" in value:
            issues.add(path, "'when' takes either 'any' or 'all', not both")
            return [], []
        key = "any" if "any" in value else "all"
        items = value[key]
        items = items if isinstance(items, list) else [items]
        if key == "all":
            # All of: one event with its filters, written as several items — merge them.
            merged: dict[str, Any] = {}
            for item in items:
                if isinstance(item, Mapping):
                    merged.update(item)
            events = [i for i in items if isinstance(i, Mapping) and ("event" in i or "schedule" in i)]
            if len(events) != 1:
                issues.add((*path, "all"), "'all' needs exactly one item with 'event:' or 'schedule:'")
                return [], []
            result = _when_item(_node(events[0], merged), (*path, "all"), issues, 0)
            return ([result[0]], result[1]) if result else ([], [])
        triggers, conditions = [], []
        for index, item in enumerate(items):
            result = _when_item(item, (*path, key, index), issues, index)
            if result:
                triggers.append(result[0])
                conditions += result[1]
        return triggers, conditions
    if isinstance(value, list):
        return _when({"any": value}, path, issues)
    result = _when_item(value, path, issues, 0)
    return ([result[0]], result[1]) if result else ([], [])


def _step(item: Any, path: Path, issues: Issues, guardrails: dict[str, Any]) -> list[Any]:
    if isinstance(item, Mapping) and "type" in item:  # {type: move, params: {...}} variant
        item = {item["type"]: item.get("params") or {}}
    if not isinstance(item, Mapping) or len(item) != 1:
        issues.add(path, "each 'do' step is one built-in action with its parameters, e.g. '- move: {dest: ...}'")
        return []
    name, params = next(iter(item.items()))
    if name not in RULE_ACTIONS:
        issues.add(
            path, f"unknown rule action '{name}'{suggest(name, RULE_ACTIONS)} (known: {', '.join(RULE_ACTIONS)})"
        )
        return []
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        issues.add((*path, name), f"parameters of '{name}' must be a mapping")
        return []
    service, new_file = RULE_ACTIONS[name]
    # media.* services name their source `input`; move/copy/archive `source`; the rest `path`.
    source_key = "input" if service.startswith("media.") else SOURCE_KEYS.get(service, "path")
    data: dict[str, Any] = {} if name in NO_PATH else {source_key: "{{ file }}"}
    renames = PARAM_RENAMES.get(name, {})
    drops = PARAM_DROPS.get(name, frozenset())
    data.update({renames.get(k, k): v for k, v in params.items() if k not in drops})
    if guardrails and service.startswith("media."):
        data["guardrails"] = dict(guardrails)
    call = _node(item, {"action": service, "data": _node(params, data), "alias": str(name)})
    steps: list[Any] = []
    if name == "make_proxies_if":
        limit = params.get("min_duration_sec", 900)
        try:
            limit = float(limit)
        except (TypeError, ValueError):
            issues.add((*path, name, "min_duration_sec"), f"expected a number of seconds, got {limit!r}")
            return []
        duration = "(info.duration_sec if info.duration_sec is defined else info.duration) | float(-1)"
        steps.append(
            _node(
                item,
                {
                    "alias": f"make_proxies_if longer than {limit:g} s",
                    "if": [{"condition": "template", "value_template": "{{ " + duration + f" > {limit:g}" + " }}"}],
                    "then": [call],
                },
            )
        )
    else:
        steps.append(call)
    steps.append(
        _node(
            item,
            {
                "alias": f"{name}: update file/info",
                "variables": {
                    "info": "{{ dict(info, **previous) if previous is mapping else info }}",
                    **(
                        {"file": "{{ previous.output if previous is mapping and previous.output else file }}"}
                        if new_file
                        else {}
                    ),
                },
            },
        )
    )
    if name == "make_proxies_if":
        # The info update belongs inside the `if` (previous is only set when the proxy ran).
        steps[0]["then"].append(steps.pop())
    return steps


def convert_rule(rule: Mapping[str, Any], path: Path, issues: Issues) -> NodeDict | None:
    """The automation (Home Assistant format, NodeDicts located at the rule's lines) for a rule."""
    for key in rule:
        if key not in (*RULE_KEYS, *GUARDRAIL_KEYS):
            issues.add((*path, key), f"unknown rule key '{key}'{suggest(key, (*RULE_KEYS, *GUARDRAIL_KEYS))}")
    name = rule.get("name")
    if not name:
        issues.add(path, "a rule needs a 'name'")
        return None
    if "when" not in rule or "do" not in rule:
        issues.add(path, "a rule needs 'when' and 'do'")
        return None
    guardrails: dict[str, Any] = {}
    if isinstance(rule.get("guardrails"), Mapping):
        for key, value in rule["guardrails"].items():
            if key not in GUARDRAIL_KEYS:
                issues.add((*path, "guardrails", key), f"unknown guardrail '{key}'{suggest(key, GUARDRAIL_KEYS)}")
            guardrails[str(key)] = value
    for key in GUARDRAIL_KEYS:
        if key in rule:
            guardrails[key] = rule[key]
    triggers, conditions = _when(rule["when"], (*path, "when"), issues)
    do = rule["do"] if isinstance(rule["do"], list) else [rule["do"]]
    actions: list[Any] = [
        _node(rule.get("do"), {"alias": "rule: current file", "variables": {"file": "{{ trigger.path }}", "info": {}}})
    ]
    for index, item in enumerate(do):
        actions += _step(
            item, (*path, "do", index) if isinstance(rule["do"], list) else (*path, "do"), issues, guardrails
        )
    enabled = rule.get("enabled", True)
    return _node(
        rule,
        {
            "id": str(rule.get("id") or slugify(str(name))),
            "alias": str(name),
            "description": rule.get("description") or "converted from the original StreamOps rule format",
            "mode": rule.get("mode", "queued"),
            "max": rule.get("max", 100),
            "initial_state": enabled,
            "priority": rule.get("priority", 0),
            "triggers": _node_list(rule.get("when"), triggers),
            "conditions": conditions,
            "actions": _node_list(rule.get("do"), actions),
        },
    )
