"""The entities one OBS shows, and how a status or a GetStats answer becomes their states.

The first OBS owns the plain ids (`binary_sensor.obs_recording`); a second one named `studio`
gets `binary_sensor.obs_recording_studio`, so automations written for one OBS keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamops.core import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Hub

# (domain, key, friendly name, unit) — key is the object id without the suffix.
BINARY_SENSORS: tuple[tuple[str, str], ...] = (
    ("obs_connected", "OBS connected"),
    ("obs_recording", "OBS recording"),
    ("obs_streaming", "OBS streaming"),
    ("obs_replay_buffer", "OBS replay buffer"),
)
SENSORS: tuple[tuple[str, str, str | None], ...] = (
    ("obs_scene", "OBS scene", None),
    ("obs_profile", "OBS profile", None),
    ("obs_scene_collection", "OBS scene collection", None),
    ("obs_game", "OBS game", None),
    ("obs_record_duration", "OBS recording duration", "s"),
    ("obs_record_path", "OBS recording file", None),
    ("obs_cpu_usage", "OBS CPU usage", "%"),
    ("obs_memory_usage", "OBS memory usage", "MB"),
    ("obs_fps", "OBS FPS", "fps"),
    ("obs_frame_render_time", "OBS frame render time", "ms"),
    ("obs_render_skipped_frames", "OBS render skipped frames", "frames"),
    ("obs_output_skipped_frames", "OBS output skipped frames", "frames"),
    ("obs_disk_space", "OBS free disk space", "MB"),
)

# GetStats field → sensor key, rounding.
STATS_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("cpuUsage", "obs_cpu_usage", 1),
    ("memoryUsage", "obs_memory_usage", 0),
    ("activeFps", "obs_fps", 2),
    ("averageFrameRenderTime", "obs_frame_render_time", 2),
    ("renderSkippedFrames", "obs_render_skipped_frames", 0),
    ("outputSkippedFrames", "obs_output_skipped_frames", 0),
    ("availableDiskSpace", "obs_disk_space", 0),
)


@dataclass
class ObsEntities:
    """Writes the states of one OBS instance's entities."""

    hub: Hub
    instance: str
    suffix: str

    def entity_id(self, key: str) -> str:
        domain = "binary_sensor" if key in {k for k, _ in BINARY_SENSORS} else "sensor"
        return f"{domain}.{key}{self.suffix}"

    def all_ids(self) -> list[str]:
        return [self.entity_id(key) for key, _ in BINARY_SENSORS] + [self.entity_id(key) for key, *_ in SENSORS]

    def _base_attributes(self, key: str) -> dict[str, Any]:
        names = {k: n for k, n in BINARY_SENSORS} | {k: n for k, n, _ in SENSORS}
        units = {k: u for k, _, u in SENSORS if u}
        name = names[key] + (f" ({self.instance})" if self.suffix else "")
        attributes: dict[str, Any] = {"friendly_name": name, "instance": self.instance}
        if key in units:
            attributes["unit_of_measurement"] = units[key]
        return attributes

    def set(self, key: str, state: Any, **attributes: Any) -> None:
        if isinstance(state, bool):
            state = STATE_ON if state else STATE_OFF
        elif state is None:
            state = "unknown"
        state_text = str(state)
        if len(state_text) > 255:  # long paths: the full value stays in an attribute
            attributes.setdefault("full_value", state_text)
            state_text = "…" + state_text[-254:]
        self.hub.states.async_set(self.entity_id(key), state_text, {**self._base_attributes(key), **attributes})

    def set_unavailable(self, reason: str | None) -> None:
        """Everything except obs_connected: OBS is not there, so nothing it reports is known."""
        for key, *_ in (*BINARY_SENSORS, *SENSORS):
            if key == "obs_connected":
                continue
            self.hub.states.async_set(self.entity_id(key), STATE_UNAVAILABLE, {**self._base_attributes(key)})

    def set_stats(self, stats: dict[str, Any]) -> None:
        for field_name, key, digits in STATS_FIELDS:
            value = stats.get(field_name)
            if isinstance(value, int | float):
                self.set(key, round(float(value), digits) if digits else round(value))
