"""The `mqtt` trigger platform: `trigger: mqtt`, `topic` (wildcards), `payload`, `value_template`."""

from __future__ import annotations

import json
from typing import Any

import voluptuous as vol

from streamops.core import Hub, Unsubscribe
from streamops.helpers.trigger_platform import TriggerAction, TriggerInfo, TriggerPlatform
from streamops.templates import Template

from .client import Message

SCHEMA = vol.Schema(
    {
        vol.Optional("trigger"): "mqtt",
        vol.Optional("platform"): "mqtt",
        vol.Optional("id"): str,
        vol.Optional("alias"): str,
        vol.Optional("enabled"): bool,
        vol.Required("topic"): vol.All(str, vol.Length(min=1)),
        vol.Optional("payload"): vol.Coerce(str),
        vol.Optional("value_template"): str,
    }
)


async def _attach(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    from . import MQTT

    bridge = hub.data.get(MQTT)
    if bridge is None:
        raise RuntimeError("the mqtt trigger needs the mqtt integration configured")
    wanted = config.get("payload")
    value_template = Template(config["value_template"], hub) if config.get("value_template") else None

    def on_message(message: Message) -> None:
        payload = message.payload.decode("utf-8", errors="replace")
        try:
            payload_json: Any = json.loads(payload)
        except ValueError:
            payload_json = None
        value: Any = payload
        if value_template is not None:
            value = value_template.render({"value": payload, "value_json": payload_json}, parse_result=False)
        if wanted is not None and str(value).strip() != wanted:
            return
        action(
            {
                "platform": "mqtt",
                "topic": message.topic,
                "payload": payload,
                "payload_json": payload_json,
                "value": value,
                "qos": message.qos,
                "retain": message.retain,
            },
            None,
        )

    return bridge.client.subscribe(config["topic"], on_message)


TRIGGERS = {"mqtt": TriggerPlatform(schema=SCHEMA, attach=_attach)}
