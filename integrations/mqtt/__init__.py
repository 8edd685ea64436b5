"""MQTT: Home Assistant discovery, retained entity state, Stream Deck commands, an `mqtt` trigger."""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any

import voluptuous as vol

from streamops.core import Hub, HubKey, ServiceCall
from streamops.templates import Template, is_template_string

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
        payload = call.data["payload"]
        if isinstance(payload, str) and is_template_string(payload):
            payload = Template(payload, hub).render({}, parse_result=False)
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
