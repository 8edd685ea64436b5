"""UI settings: what the Settings page can change, where each value in force comes from, and how
a saved value reaches the running hub.

Precedence (ARCHITECTURE.md): environment variable > explicit YAML value > value saved in the UI
(`so_configs`, key `ui.<setting>`) > default. A value written in configuration.yaml is never
silently overridden: a PUT for it is refused with the file and line to edit instead, and GET says
which source is in force and why. The YAML/env check re-reads configuration.yaml with its line
numbers (the validated config the components got has defaults filled in, so it cannot tell an
explicit `cpu_percent: 70` from the default 70).

Applying: the job guardrails have no setter for thresholds, so `_apply_guardrail` sets the same
fields `Guardrails.__init__` derives from its config (threshold, release point, sustain) on the
running object and re-publishes through its own change path (`_changed`: entities + queue re-check).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

from ..config.loading import load_configuration
from ..config.yaml_loader import NodeDict
from ..core import Hub

_LOGGER = logging.getLogger(__name__)

UI_PREFIX = "ui."

_PERCENT = vol.All(vol.Coerce(float), vol.Range(min=0, max=100))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise vol.Invalid(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class Setting:
    """One setting the UI may change."""

    key: str
    title: str
    group: str
    validator: Any
    default: Any
    description: str = ""
    yaml_path: tuple[str, ...] | None = None
    env: str | None = None
    unit: str | None = None
    # Push a value into the running component; read the value the component actually uses.
    apply: Callable[[Hub, Any], None] | None = None
    read: Callable[[Hub], Any] | None = None
    restart_needed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# -- guardrails ---------------------------------------------------------------------------------
def _guardrails(hub: Hub) -> Any:
    try:
        from ..jobs import JOBS
    except ImportError:  # pragma: no cover - jobs is a core component
        return None
    queue = hub.data.get(JOBS)
    return getattr(queue, "guardrails", None) if queue is not None else None


def _apply_guardrail(name: str) -> Callable[[Hub, Any], None]:
    def apply(hub: Hub, value: Any) -> None:
        guardrails = _guardrails(hub)
        if guardrails is None:
            return
        guardrails.config[name] = value
        if name == "pause_when_recording":
            guardrails.pause_when_recording = bool(value)
        elif name in ("cpu_percent", "gpu_percent"):
            setattr(guardrails, name, float(value))
            guard = guardrails.cpu if name == "cpu_percent" else guardrails.gpu
            guard.threshold = float(value)
            guard.release_below = max(0.0, float(value) - guardrails.hysteresis)
        elif name == "hysteresis":
            guardrails.hysteresis = float(value)
            for guard in (guardrails.cpu, guardrails.gpu):
                guard.release_below = max(0.0, guard.threshold - float(value))
        elif name == "sustain_seconds":
            guardrails.sustain = float(value)
            for guard in (guardrails.cpu, guardrails.gpu):
                guard.sustain = float(value)
        if name != "pause_when_recording":
            for guard in (guardrails.cpu, guardrails.gpu):
                guard.feed(guard.value)  # re-judge the current load against the new limits
        if getattr(guardrails, "_started", False):
            guardrails._changed()  # publishes switch.guardrails / guardrail entities, re-checks jobs

    return apply


def _read_guardrail(name: str) -> Callable[[Hub], Any]:
    def read(hub: Hub) -> Any:
        guardrails = _guardrails(hub)
        return getattr(guardrails, name if name != "sustain_seconds" else "sustain", None) if guardrails else None

    return read


def _guardrail(
    name: str, title: str, validator: Any, default: Any, env: str | None, unit: str | None, text: str
) -> Setting:
    return Setting(
        key=f"jobs.guardrails.{name}",
        title=title,
        group="Guardrails",
        validator=validator,
        default=default,
        description=text,
        yaml_path=("jobs", "guardrails", name),
        env=env,
        unit=unit,
        apply=_apply_guardrail(name),
        read=_read_guardrail(name),
    )


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        _guardrail(
            "pause_when_recording",
            "Pause heavy jobs while OBS records",
            _bool,
            True,
            "PAUSE_WHEN_RECORDING",
            None,
            "Proxies, previews and transcodes wait until the recording stops.",
        ),
        _guardrail(
            "cpu_percent", "CPU limit", _PERCENT, 70.0, "CPU_GUARD_PCT", "%", "Heavy jobs pause above this CPU load."
        ),
        _guardrail(
            "gpu_percent", "GPU limit", _PERCENT, 40.0, "GPU_GUARD_PCT", "%", "Heavy jobs pause above this GPU load."
        ),
        _guardrail(
            "hysteresis",
            "Hysteresis",
            _PERCENT,
            10.0,
            None,
            "%",
            "A paused job resumes only once the load is this far below the limit.",
        ),
        _guardrail(
            "sustain_seconds",
            "Sustain",
            vol.All(vol.Coerce(float), vol.Range(min=0, max=3600)),
            5.0,
            None,
            "s",
            "The load must stay above the limit this long before jobs pause.",
        ),
        Setting(
            key="frontend.wizard_done",
            title="First-run wizard completed",
            group="Feature flags",
            validator=_bool,
            default=False,
            description="Off: the dashboard opens on the first-run wizard.",
        ),
        Setting(
            key="frontend.docker_image",
            title="Container image",
            group="Docker",
            validator=vol.All(str, vol.Length(min=1, max=200)),
            default="ghcr.io/streamops/streamops:latest",
            description="Used by the docker run command generator.",
        ),
    )
}


# -- sources ------------------------------------------------------------------------------------
@dataclass
class Source:
    source: str  # default | ui | yaml | env
    value: Any
    where: str | None = None  # "configuration.yaml:42" or "env:CPU_GUARD_PCT"


def explicit_values(hub: Hub, environ: Mapping[str, str] | None = None) -> dict[str, Source]:
    """Settings given explicitly in configuration.yaml or by an environment variable."""
    found: dict[str, Source] = {}
    try:
        loaded = load_configuration(hub.config.config_dir, os.environ if environ is None else environ)
    except Exception:  # a broken file is reported by check-config; here it just means "no YAML value"
        _LOGGER.exception("Could not read configuration.yaml to see which settings it sets")
        return found
    for setting in SETTINGS.values():
        if setting.yaml_path is None:
            continue
        node: Any = loaded.config
        for part in setting.yaml_path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, list) and node:  # several instances: the first
                node = node[0]
        last = setting.yaml_path[-1]
        if not isinstance(node, dict) or last not in node:
            continue
        file, line = node.value_lines.get(last, (None, None)) if isinstance(node, NodeDict) else (None, None)
        try:
            value = vol.Schema(setting.validator)(node[last])
        except vol.Invalid:
            value = node[last]
        if file and file.startswith("env:"):
            found[setting.key] = Source("env", value, file)
        else:
            found[setting.key] = Source(
                "yaml", value, f"{file}:{line}" if file and line else file or "configuration.yaml"
            )
    return found


class SettingsManager:
    """Reads and writes UI settings in so_configs and applies them."""

    def __init__(self, hub: Hub, recorder: Any, environ: Mapping[str, str] | None = None) -> None:
        self.hub = hub
        self.recorder = recorder
        self.environ = environ

    async def stored(self) -> dict[str, Any]:
        saved = await self.recorder.get_settings(UI_PREFIX)
        return {key[len(UI_PREFIX) :]: item["value"] for key, item in saved.items()}

    async def describe(self) -> list[dict[str, Any]]:
        explicit = explicit_values(self.hub, self.environ)
        stored = await self.stored()
        out = []
        for setting in SETTINGS.values():
            chosen = explicit.get(setting.key)
            if chosen is None and setting.key in stored:
                chosen = Source("ui", stored[setting.key], "database (so_configs)")
            if chosen is None:
                chosen = Source("default", setting.default)
            running = setting.read(self.hub) if setting.read else None
            value = running if running is not None else chosen.value
            reason = {
                "env": f"set by the environment variable {setting.env}; unset it to change it here",
                "yaml": f"set in {chosen.where}; remove it there to manage it here",
                "ui": "saved from the dashboard",
                "default": "the default",
            }[chosen.source]
            out.append(
                {
                    "key": setting.key,
                    "title": setting.title,
                    "group": setting.group,
                    "description": setting.description,
                    "value": value,
                    "default": setting.default,
                    "source": chosen.source,
                    "where": chosen.where,
                    "reason": reason,
                    "editable": chosen.source in ("default", "ui"),
                    "ui_value": stored.get(setting.key),
                    "env": setting.env,
                    "yaml_path": ".".join(setting.yaml_path) if setting.yaml_path else None,
                    "unit": setting.unit,
                    "type": "boolean" if setting.validator is _bool else ("number" if setting.unit else "string"),
                    "restart_needed": setting.restart_needed,
                }
            )
        return out

    async def update(self, changes: Mapping[str, Any]) -> list[str]:
        """Validate all, refuse YAML/env-owned keys, then save and apply. Returns error strings."""
        errors: list[str] = []
        explicit = explicit_values(self.hub, self.environ)
        validated: dict[str, Any] = {}
        for key, value in changes.items():
            setting = SETTINGS.get(key)
            if setting is None:
                errors.append(f"{key}: unknown setting (known: {', '.join(SETTINGS)})")
                continue
            owner = explicit.get(key)
            if owner is not None:
                errors.append(
                    f"{key}: set by {owner.where} ({owner.source}), which wins over the dashboard;"
                    f" change it there{' or unset ' + setting.env if owner.source == 'env' and setting.env else ''}"
                )
                continue
            if value is None:
                validated[key] = None  # back to the default
                continue
            try:
                validated[key] = vol.Schema(setting.validator)(value)
            except vol.Invalid as err:
                errors.append(f"{key}: {err.msg}")
        if errors:
            return errors
        for key, value in validated.items():
            setting = SETTINGS[key]
            if value is None:
                await self.recorder.delete_setting(UI_PREFIX + key)
                value = setting.default
            else:
                await self.recorder.set_setting(UI_PREFIX + key, value)
            if setting.apply is not None:
                setting.apply(self.hub, value)
            _LOGGER.info("Setting %s = %r (from the dashboard)", key, value)
        return []

    async def apply_stored(self) -> None:
        """At start: push saved UI values into the components (unless YAML/env own the key)."""
        explicit = explicit_values(self.hub, self.environ)
        for key, value in (await self.stored()).items():
            setting = SETTINGS.get(key)
            if setting is None or setting.apply is None:
                continue
            if key in explicit:
                _LOGGER.info(
                    "Saved dashboard value for %s ignored: %s sets it", key, explicit[key].where or explicit[key].source
                )
                continue
            try:
                setting.apply(self.hub, vol.Schema(setting.validator)(value))
            except vol.Invalid as err:
                _LOGGER.warning("Saved value for %s is invalid and was ignored: %s", key, err)
