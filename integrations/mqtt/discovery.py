"""Home Assistant MQTT discovery payloads.

Only an allowlist of fields is ever published: names, units, device classes and the few live
attributes a dashboard needs. No configuration values, paths of secrets or tokens can leak through
an entity's attributes, because attributes are filtered here, not trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamops import __version__
from streamops.core import State

# Attributes that may leave the hub. Anything else stays private.
ATTRIBUTE_ALLOWLIST = frozenset(
    {
        "friendly_name",
        "unit_of_measurement",
        "device_class",
        "state_class",
        "icon",
        "percent",
        "speed",
        "eta",
        "queued",
        "running",
        "reason",
        "last_triggered",
        "current",
        "options",
        "scenes",
        "free_bytes",
        "total_bytes",
        "used_percent",
        "files_watched",
    }
)

# The HA component each of our entity domains appears as.
COMPONENT_BY_DOMAIN = {
    "sensor": "sensor",
    "binary_sensor": "binary_sensor",
    "switch": "switch",
    "automation": "switch",
}

# Required keys per component (Home Assistant's MQTT platform schemas).
REQUIRED_KEYS = {
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
    "switch": {"command_topic"},
    "button": {"command_topic"},
    "select": {"command_topic", "options"},
}


@dataclass(frozen=True)
class Button:
    """A discovery button: pressing it calls a service (shown only when that service exists)."""

    object_id: str
    name: str
    domain: str
    service: str
    data: tuple[tuple[str, Any], ...] = ()
    icon: str | None = None


STATIC_BUTTONS = (
    Button("obs_start_record", "Start recording", "obs", "start_record", icon="mdi:record-rec"),
    Button("obs_stop_record", "Stop recording", "obs", "stop_record", icon="mdi:stop"),
    Button("obs_add_marker", "Add marker", "obs", "add_marker", icon="mdi:bookmark-plus"),
    Button("drives_rescan", "Rescan drives", "drives", "rescan", icon="mdi:folder-refresh"),
)


def filtered_attributes(state: State) -> dict[str, Any]:
    return {key: value for key, value in state.attributes.items() if key in ATTRIBUTE_ALLOWLIST}


class Discovery:
    def __init__(self, base: str, prefix: str, node_id: str, configuration_url: str) -> None:
        self.base = base
        self.prefix = prefix
        self.node_id = node_id
        self.configuration_url = configuration_url

    @property
    def availability_topic(self) -> str:
        return f"{self.base}/status"

    def state_topic(self, entity_id: str) -> str:
        domain, object_id = entity_id.split(".", 1)
        return f"{self.base}/{domain}/{object_id}/state"

    def attributes_topic(self, entity_id: str) -> str:
        domain, object_id = entity_id.split(".", 1)
        return f"{self.base}/{domain}/{object_id}/attributes"

    def command_topic(self, entity_id: str) -> str:
        domain, object_id = entity_id.split(".", 1)
        return f"{self.base}/{domain}/{object_id}/set"

    def button_topic(self, button_id: str) -> str:
        return f"{self.base}/button/{button_id}/press"

    def config_topic(self, component: str, object_id: str) -> str:
        return f"{self.prefix}/{component}/{self.node_id}/{object_id}/config"

    def _common(self, unique: str, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "unique_id": f"{self.node_id}_{unique}",
            "object_id": f"{self.node_id}_{unique}",
            "availability": [
                {"topic": self.availability_topic, "payload_available": "online", "payload_not_available": "offline"}
            ],
            "device": {
                "identifiers": [self.node_id],
                "name": "StreamOps",
                "model": "StreamOps hub",
                "manufacturer": "StreamOps",
                "sw_version": __version__,
                "configuration_url": self.configuration_url,
            },
            "origin": {"name": "streamops", "sw_version": __version__},
        }

    def entity_config(self, state: State) -> tuple[str, str, dict[str, Any]] | None:
        """(component, object_id, payload) for an exposed entity, or None if it has no HA counterpart."""
        component = COMPONENT_BY_DOMAIN.get(state.domain)
        if state.entity_id == "sensor.obs_scene":
            component = "select"
        if component is None:
            return None
        unique = f"{state.domain}_{state.object_id}"
        payload = self._common(unique, state.name)
        payload["json_attributes_topic"] = self.attributes_topic(state.entity_id)
        if component in ("sensor", "binary_sensor", "switch", "select"):
            payload["state_topic"] = self.state_topic(state.entity_id)
        attributes = state.attributes
        if component == "sensor":
            for key in ("unit_of_measurement", "device_class", "state_class", "icon"):
                if attributes.get(key):
                    payload[key] = attributes[key]
        elif component == "binary_sensor":
            payload.update({"payload_on": "on", "payload_off": "off"})
            if attributes.get("device_class"):
                payload["device_class"] = attributes["device_class"]
        elif component == "switch":
            payload.update(
                {
                    "command_topic": self.command_topic(state.entity_id),
                    "payload_on": "on",
                    "payload_off": "off",
                    "state_on": "on",
                    "state_off": "off",
                }
            )
        elif component == "select":
            options = list(attributes.get("scenes") or attributes.get("options") or [])
            if not options:
                options = [state.state]
            payload.update({"command_topic": self.command_topic(state.entity_id), "options": options})
        return component, unique, payload

    def button_config(self, button: Button) -> tuple[str, str, dict[str, Any]]:
        unique = f"button_{button.object_id}"
        payload = self._common(unique, button.name)
        payload.update({"command_topic": self.button_topic(button.object_id), "payload_press": "PRESS"})
        if button.icon:
            payload["icon"] = button.icon
        return "button", unique, payload
