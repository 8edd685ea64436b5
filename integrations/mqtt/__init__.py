"""MQTT: Home Assistant discovery, retained entity state, Stream Deck commands, an `mqtt` trigger."""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any

import voluptuous as vol

from streamops.core import Hub, HubKey, ServiceCall

from .bridge import MqttBridge

_LOGGER = logging.getLogger(__name__)

DOMAIN = "mqtt"
MQTT: HubKey[MqttBridge] = HubKey("mqtt")

_TOPIC = vol.All(str, vol.Length(min=1, max=512), vol.Match(r"^[^#+\x00]+$", msg="topic must not contain # or +"))

TLS_SCHEMA = vol.Schema(
    {
        vol.Optional("ca_file"): str,
        vol.Optional("cert_file"): str,
        vol.Optional("key_file"): str,
        vol.Optional("insecure", default=False): bool,
    }
)

EXPOSE_SCHEMA = vol.Schema(
    {
        vol.Optional("include_domains", default=["sensor", "binary_sensor", "switch", "automation"]): [str],
        vol.Optional("exclude_domains", default=[]): [str],
        vol.Optional("include_entities", default=[]): [str],
        vol.Optional("exclude_entities", default=[]): [str],
    }
)

DEFAULT_ALLOWED_SERVICES = (
    "obs.start_record",
    "obs.stop_record",
    "obs.toggle_record",
    "obs.set_scene",
    "obs.save_replay",
    "obs.start_stream",
    "obs.stop_stream",
    "obs.set_input_mute",
    "obs.add_marker",
    "obs.set_game",
    "obs.reconnect",
    "overlay.*",
    "automation.trigger",
    "automation.turn_on",
    "automation.turn_off",
    "automation.toggle",
    "switch.turn_on",
    "switch.turn_off",
    "switch.toggle",
    "jobs.pause",
    "jobs.resume",
    "drives.rescan",
    "mqtt.publish",
)

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("broker", default="127.0.0.1"): str,
        vol.Optional("port", default=1883): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional("username"): str,
        vol.Optional("password"): str,
        vol.Optional("tls"): TLS_SCHEMA,
        vol.Optional("client_id", default=f"streamops-{socket.gethostname()}-{os.getpid()}"): str,
        vol.Optional("base_topic", default="streamops"): _TOPIC,
        vol.Optional("discovery_prefix", default="homeassistant"): _TOPIC,
        vol.Optional("node_id", default="streamops"): vol.Match(r"^[a-zA-Z0-9_-]+$"),
        vol.Optional("keepalive", default=30): vol.All(int, vol.Range(min=5, max=3600)),
        vol.Optional("discovery", default=True): bool,
        vol.Optional("stale_clear_delay", default=5.0): vol.All(vol.Coerce(float), vol.Range(min=0, max=600)),
        vol.Optional("expose", default={}): EXPOSE_SCHEMA,
        # Which services `streamops/service/<domain>/<service>` and `request/call_service` may call
        # (globs; ["*"] for any). Anyone who can publish to the broker gets these, so the default is
        # what a Stream Deck needs — never shell.run, files.*, media.* or the raw obs.request.
        vol.Optional("allowed_services", default=list(DEFAULT_ALLOWED_SERVICES)): [
            vol.All(str, vol.Match(r"^[a-z0-9_*?]+\.[a-z0-9_*?]+$|^\*$", msg="expected domain.service (globs allowed)"))
        ],
    }
)

PUBLISH_SCHEMA = vol.Schema(
    {
        vol.Required("topic"): _TOPIC,
        vol.Optional("payload", default=""): vol.Any(str, int, float, bool, dict, list, None),
        vol.Optional("retain", default=False): bool,
        vol.Optional("qos", default=0): vol.In([0, 1, 2]),
    }
)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    bridge = MqttBridge(hub, config)
    hub.data[MQTT] = bridge

    async def publish(call: ServiceCall) -> dict[str, Any]:
        # Not rendered again here: an automation's `data:` is rendered by the script engine before
        # the call, so a second render would run template text that arrived as data (a chat message,
        # an MQTT payload in `trigger.payload`) — template injection. Callers over the API/MQTT send
        # plain payloads, as with Home Assistant's REST API.
        payload = call.data["payload"]
        if isinstance(payload, dict | list):
            payload = json.dumps(payload)
        text = "" if payload is None else str(payload)
        if call.dry_run:
            return {"dry_run": True, "topic": call.data["topic"], "payload": text, "retain": call.data["retain"]}
        bridge.client.publish(call.data["topic"], text, retain=call.data["retain"], qos=call.data["qos"])
        return {"topic": call.data["topic"]}

    hub.services.async_register(
        DOMAIN, "publish", publish, PUBLISH_SCHEMA, supports_dry_run=True, description="Publish an MQTT message"
    )
    hub.async_on_start(bridge.start)
    hub.async_on_stop(bridge.stop)
    return True
