"""Names that are part of the public contract: bus events, trigger event names, defaults."""

from __future__ import annotations

DOMAIN = "obs"

DEFAULT_PORT = 4455
DEFAULT_STATS_INTERVAL = 5.0
DEFAULT_TIMEOUT = 5.0
DEFAULT_RECONNECT_MAX = 30.0

EVENT_RECORDING_STARTED = "obs_recording_started"
EVENT_RECORDING_STOPPED = "obs_recording_stopped"
EVENT_STREAMING_STARTED = "obs_streaming_started"
EVENT_STREAMING_STOPPED = "obs_streaming_stopped"
EVENT_SCENE_CHANGED = "obs_scene_changed"
EVENT_REPLAY_SAVED = "obs_replay_saved"
EVENT_MARKER = "obs_marker"

# `trigger: obs` / `event: <name>` → bus event.
TRIGGER_EVENTS: dict[str, str] = {
    "recording_started": EVENT_RECORDING_STARTED,
    "recording_stopped": EVENT_RECORDING_STOPPED,
    "streaming_started": EVENT_STREAMING_STARTED,
    "streaming_stopped": EVENT_STREAMING_STOPPED,
    "scene_changed": EVENT_SCENE_CHANGED,
    "replay_saved": EVENT_REPLAY_SAVED,
    "marker": EVENT_MARKER,
}

# obs-websocket output states (RecordStateChanged / StreamStateChanged outputState).
OUTPUT_STARTING = "OBS_WEBSOCKET_OUTPUT_STARTING"
OUTPUT_STARTED = "OBS_WEBSOCKET_OUTPUT_STARTED"
OUTPUT_STOPPING = "OBS_WEBSOCKET_OUTPUT_STOPPING"
OUTPUT_STOPPED = "OBS_WEBSOCKET_OUTPUT_STOPPED"
OUTPUT_PAUSED = "OBS_WEBSOCKET_OUTPUT_PAUSED"
OUTPUT_RESUMED = "OBS_WEBSOCKET_OUTPUT_RESUMED"
OUTPUT_RECONNECTING = "OBS_WEBSOCKET_OUTPUT_RECONNECTING"
OUTPUT_RECONNECTED = "OBS_WEBSOCKET_OUTPUT_RECONNECTED"
