"""Guardrails: heavy jobs pause while OBS records or while CPU/GPU load stays high, and resume by themselves.

Inputs are entity states other integrations provide: `binary_sensor.obs_recording` (OBS; missing or
unavailable counts as not recording), `sensor.cpu_percent` and `sensor.gpu_percent`
(system_monitor). A load guard engages when its sensor stays above the threshold for
`sustain_seconds` and releases when it drops below `threshold - hysteresis`, so a job does not flap
between paused and running around the threshold. The recording guard acts at once: recordings are
the one thing that cannot be redone.

Outputs: `switch.guardrails` (the master switch) and `binary_sensor.guardrail_recording|cpu|gpu`
whose attributes say why. The queue asks `reason_for(heavy, overrides)` before starting a job and
again for every running job whenever a guard changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import voluptuous as vol

from ..core import EVENT_STATE_CHANGED, STATE_ON, Event, Hub, State

_LOGGER = logging.getLogger(__name__)

ENTITY_RECORDING = "binary_sensor.obs_recording"
ENTITY_CPU = "sensor.cpu_percent"
ENTITY_GPU = "sensor.gpu_percent"

SWITCH_GUARDRAILS = "switch.guardrails"
GUARD_RECORDING = "binary_sensor.guardrail_recording"
GUARD_CPU = "binary_sensor.guardrail_cpu"
GUARD_GPU = "binary_sensor.guardrail_gpu"

_TRUE = {"1", "true", "yes", "on", "enable", "enabled"}
_FALSE = {"0", "false", "no", "off", "disable", "disabled"}


def boolean(value: Any) -> bool:
    """YAML booleans and the strings env overrides produce ('false', '0', 'on', ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise vol.Invalid(f"expected a boolean (true/false), got {value!r}")


_PERCENT = vol.All(vol.Coerce(float), vol.Range(min=0, max=100))

GUARDRAILS_SCHEMA = vol.Schema(
    {
        # No default: an explicit YAML value wins over the switch state restored from the database.
        vol.Optional("enabled"): boolean,
        vol.Optional("pause_when_recording", default=True): boolean,
        vol.Optional("gpu_percent", default=40.0): _PERCENT,
        vol.Optional("cpu_percent", default=70.0): _PERCENT,
        vol.Optional("hysteresis", default=10.0): _PERCENT,
        vol.Optional("sustain_seconds", default=5.0): vol.All(vol.Coerce(float), vol.Range(min=0, max=3600)),
    }
)

# Per-job overrides (the original rule format's names), given as `guardrails=` to JobQueue.submit.
JOB_GUARDRAILS_SCHEMA = vol.Schema(
    {
        vol.Optional("pause_if_recording"): boolean,
        vol.Optional("pause_if_gpu_pct_above"): vol.Any(None, _PERCENT),
        vol.Optional("pause_if_cpu_pct_above"): vol.Any(None, _PERCENT),
    }
)


def _as_percent(state: State | None) -> float | None:
    if state is None:
        return None
    try:
        return float(state.state)
    except (TypeError, ValueError):
        return None  # unavailable / unknown


class ThresholdGuard:
    """Engage above `threshold` sustained for `sustain` s; release below `threshold - hysteresis`."""

    def __init__(
        self, hub: Hub, label: str, threshold: float, hysteresis: float, sustain: float, notify: Callable[[], None]
    ) -> None:
        self._hub = hub
        self.label = label
        self.threshold = threshold
        self.release_below = max(0.0, threshold - hysteresis)
        self.sustain = sustain
        self._notify = notify
        self.value: float | None = None
        self.engaged = False
        self.changed_at = time.time()
        self.value_at_change: float | None = None
        self._above_since: float | None = None
        self._timer: Any = None

    def feed(self, value: float | None) -> None:
        self.value = value
        now = time.monotonic()
        if value is None:
            self._cancel_timer()
            self._above_since = None
            if self.engaged:
                self._set(False, value)
            return
        if self.engaged:
            if value < self.release_below:
                self._set(False, value)
            return
        if value > self.threshold:
            if self._above_since is None:
                self._above_since = now
                if self.sustain > 0:
                    self._timer = self._hub.loop.call_later(self.sustain, self._sustained)
            if now - self._above_since >= self.sustain:
                self._cancel_timer()
                self._set(True, value)
        else:
            self._above_since = None
            self._cancel_timer()

    def _sustained(self) -> None:
        self._timer = None
        if not self.engaged and self._above_since is not None and self.value is not None:
            if self.value > self.threshold:
                self._set(True, self.value)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _set(self, engaged: bool, value: float | None) -> None:
        self.engaged = engaged
        self.changed_at = time.time()
        self.value_at_change = value
        if engaged:
            self._above_since = None
        self._notify()

    def reason(self) -> str:
        if self.engaged:
            return (
                f"{self.label} {self.value_at_change:.0f}% stayed above {self.threshold:g}% for"
                f" {self.sustain:g} s; resumes below {self.release_below:g}%"
            )
        if self.value is None:
            return f"{self.label} load unknown (sensor unavailable): not guarding"
        return f"{self.label} load below the limit (pauses above {self.threshold:g}% for {self.sustain:g} s)"

    def close(self) -> None:
        self._cancel_timer()


class Guardrails:
    """The guard states, their entities, and the verdict for a job."""

    def __init__(self, hub: Hub, config: dict[str, Any], on_change: Callable[[], None]) -> None:
        self.hub = hub
        self.config = config
        self._on_change = on_change
        self.pause_when_recording: bool = config["pause_when_recording"]
        self.cpu_percent: float = config["cpu_percent"]
        self.gpu_percent: float = config["gpu_percent"]
        self.hysteresis: float = config["hysteresis"]
        self.sustain: float = config["sustain_seconds"]
        self.enabled = True
        self.recording = False
        self.recording_state: str | None = None
        self.recording_changed_at = time.time()
        self.cpu = ThresholdGuard(hub, "CPU", self.cpu_percent, self.hysteresis, self.sustain, self._changed)
        self.gpu = ThresholdGuard(hub, "GPU", self.gpu_percent, self.hysteresis, self.sustain, self._changed)
        # Per-job thresholds (rule overrides) get their own guards with the same hysteresis/sustain.
        self._custom: dict[tuple[str, float], ThresholdGuard] = {}
        self._unsub: Callable[[], None] | None = None
        self._started = False

    # -- life cycle ------------------------------------------------------------------------------
    def async_start(self) -> None:
        """Read the current states, publish the entities, and follow changes."""
        explicit = self.config.get("enabled")
        restored = self.hub.states.get(SWITCH_GUARDRAILS)
        if explicit is not None:
            self.enabled = bool(explicit)
        elif restored is not None and restored.state in ("on", "off"):
            self.enabled = restored.state == "on"
        watched = {ENTITY_RECORDING, ENTITY_CPU, ENTITY_GPU}
        self._unsub = self.hub.bus.async_listen(
            EVENT_STATE_CHANGED, self._state_changed, event_filter=lambda ev: ev.data.get("entity_id") in watched
        )
        self._started = True
        self._feed_recording(self.hub.states.get(ENTITY_RECORDING), notify=False)
        self._feed_metric(ENTITY_CPU, _as_percent(self.hub.states.get(ENTITY_CPU)))
        self._feed_metric(ENTITY_GPU, _as_percent(self.hub.states.get(ENTITY_GPU)))
        self._publish()

    def async_stop(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        for guard in (self.cpu, self.gpu, *self._custom.values()):
            guard.close()

    # -- inputs ----------------------------------------------------------------------------------
    def _state_changed(self, event: Event) -> None:
        entity_id = event.data["entity_id"]
        new_state: State | None = event.data.get("new_state")
        if entity_id == ENTITY_RECORDING:
            self._feed_recording(new_state)
        else:
            self._feed_metric(entity_id, _as_percent(new_state))

    def _feed_recording(self, state: State | None, notify: bool = True) -> None:
        previous = self.recording_state
        self.recording_state = None if state is None else state.state
        recording = state is not None and state.state == STATE_ON
        if recording != self.recording:
            self.recording = recording
            self.recording_changed_at = time.time()
            if notify:
                self._changed()
        elif notify and self._started and previous != self.recording_state:
            self._publish()  # e.g. missing → unavailable: same verdict, different explanation

    def _feed_metric(self, entity_id: str, value: float | None) -> None:
        metric = "cpu" if entity_id == ENTITY_CPU else "gpu"
        default = self.cpu if metric == "cpu" else self.gpu
        was_available = default.value is not None
        default.feed(value)
        for (kind, _threshold), guard in self._custom.items():
            if kind == metric:
                guard.feed(value)
        if self._started and was_available != (value is not None):
            self._publish()  # the entity's reason says whether the sensor is there at all

    def _changed(self) -> None:
        if not self._started:
            return
        self._publish()
        self._on_change()

    # -- control ---------------------------------------------------------------------------------
    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        _LOGGER.info("Guardrails switched %s", "on" if enabled else "off")
        self._changed()

    # -- verdict ---------------------------------------------------------------------------------
    def _guard_for(self, metric: str, threshold: float) -> ThresholdGuard:
        default = self.cpu if metric == "cpu" else self.gpu
        if threshold == default.threshold:
            return default
        key = (metric, float(threshold))
        guard = self._custom.get(key)
        if guard is None:
            guard = ThresholdGuard(self.hub, metric.upper(), threshold, self.hysteresis, self.sustain, self._changed)
            self._custom[key] = guard
            guard.feed(default.value)
        return guard

    def reason_for(self, heavy: bool, overrides: dict[str, Any] | None = None) -> str | None:
        """Why a job with these traits must not run now ("guardrail: ..."), or None when it may.

        Without overrides only heavy jobs are guarded, by the global settings. Overrides (from a
        rule's `guardrails:`) replace the global values for that job, heavy or not; a value of
        None/false turns that guard off for the job.
        """
        if not self.enabled:
            return None
        if overrides is None:
            if not heavy:
                return None
            overrides = {}
        on_recording = overrides.get("pause_if_recording", self.pause_when_recording if heavy else False)
        cpu_limit = overrides.get("pause_if_cpu_pct_above", self.cpu_percent if heavy else None)
        gpu_limit = overrides.get("pause_if_gpu_pct_above", self.gpu_percent if heavy else None)
        if on_recording and self.recording:
            return "guardrail: OBS is recording"
        for metric, limit in (("cpu", cpu_limit), ("gpu", gpu_limit)):
            if limit is None:
                continue
            guard = self._guard_for(metric, float(limit))
            if guard.engaged:
                return f"guardrail: {guard.reason()}"
        return None

    @property
    def engaged_reasons(self) -> list[str]:
        """The global guards that are holding heavy jobs right now."""
        reason = []
        if not self.enabled:
            return reason
        if self.pause_when_recording and self.recording:
            reason.append("OBS is recording")
        for guard in (self.cpu, self.gpu):
            if guard.engaged:
                reason.append(guard.reason())
        return reason

    # -- entities --------------------------------------------------------------------------------
    def _publish(self) -> None:
        states = self.hub.states
        reasons = self.engaged_reasons
        states.async_set(
            SWITCH_GUARDRAILS,
            "on" if self.enabled else "off",
            {
                "friendly_name": "Guardrails",
                "icon": "mdi:shield-half-full",
                "engaged": bool(reasons),
                "reasons": reasons,
                "pause_when_recording": self.pause_when_recording,
                "cpu_percent": self.cpu_percent,
                "gpu_percent": self.gpu_percent,
                "hysteresis": self.hysteresis,
                "sustain_seconds": self.sustain,
            },
        )
        off_reason = "guardrails are switched off (switch.guardrails)"
        if not self.enabled:
            rec_on, rec_reason = False, off_reason
        elif not self.pause_when_recording:
            rec_on, rec_reason = False, "pause_when_recording is false"
        elif self.recording:
            rec_on, rec_reason = True, f"{ENTITY_RECORDING} is on: heavy jobs wait until the recording stops"
        elif self.recording_state is None:
            rec_on, rec_reason = False, f"{ENTITY_RECORDING} does not exist (OBS not set up): treated as not recording"
        elif self.recording_state in ("unavailable", "unknown"):
            rec_on, rec_reason = False, f"{ENTITY_RECORDING} is {self.recording_state}: treated as not recording"
        else:
            rec_on, rec_reason = False, "OBS is not recording"
        states.async_set(
            GUARD_RECORDING,
            "on" if rec_on else "off",
            {
                "friendly_name": "Guardrail: recording",
                "device_class": "running",
                "reason": rec_reason,
                "watching": ENTITY_RECORDING,
                "since": self.recording_changed_at,
            },
        )
        for entity_id, guard, source in ((GUARD_CPU, self.cpu, ENTITY_CPU), (GUARD_GPU, self.gpu, ENTITY_GPU)):
            states.async_set(
                entity_id,
                "on" if (self.enabled and guard.engaged) else "off",
                {
                    "friendly_name": f"Guardrail: {guard.label}",
                    "reason": off_reason if not self.enabled else guard.reason(),
                    "watching": source,
                    "threshold": guard.threshold,
                    "release_below": guard.release_below,
                    "sustain_seconds": guard.sustain,
                    "value_at_change": guard.value_at_change,
                    "since": guard.changed_at,
                },
            )
