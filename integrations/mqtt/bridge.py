"""The MQTT bridge: publishes exposed entities (state + HA discovery) and turns commands into service calls."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from streamops.core import (
    EVENT_STATE_CHANGED,
    Context,
    Event,
    Hub,
    ServiceError,
    State,
)
from streamops.core.services import EVENT_SERVICE_REGISTERED

from .client import Message, MqttClient, glob_match
from .discovery import STATIC_BUTTONS, Button, Discovery, filtered_attributes

_LOGGER = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 64 * 1024


class CommandError(Exception):
    """A command that cannot be carried out; its message goes to the error topic."""


class MqttBridge:
    def __init__(self, hub: Hub, config: dict[str, Any]) -> None:
        self.hub = hub
        self.config = config
        self.base = config["base_topic"].rstrip("/")
        http_port = (hub.config.raw.get("http") or {}).get("server_port", 7767)
        self.discovery = Discovery(
            self.base, config["discovery_prefix"], config["node_id"], f"http://127.0.0.1:{http_port}/"
        )
        self.client = MqttClient(hub.loop, config, self.discovery.availability_topic)
        self._published_configs: set[str] = set()
        self._unsubs: list[Any] = []
        self.commands_handled = 0

    # -- exposure --------------------------------------------------------------------------------
    def exposed(self, entity_id: str) -> bool:
        expose = self.config["expose"]
        domain = entity_id.split(".", 1)[0]
        if entity_id in expose["exclude_entities"] or glob_match(expose["exclude_entities"], entity_id):
            return False
        if entity_id in expose["include_entities"] or glob_match(expose["include_entities"], entity_id):
            return True
        return domain in expose["include_domains"] and domain not in expose["exclude_domains"]

    def buttons(self) -> list[Button]:
        buttons = [b for b in STATIC_BUTTONS if self.hub.services.has_service(b.domain, b.service)]
        if self.hub.services.has_service("automation", "trigger"):
            for state in self.hub.states.async_all("automation"):
                buttons.append(
                    Button(
                        f"run_{state.object_id}",
                        f"Run {state.name}",
                        "automation",
                        "trigger",
                        (("entity_id", state.entity_id),),
                        "mdi:play",
                    )
                )
        return buttons

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        base = self.base
        subscribe = self.client.subscribe
        self._unsubs += [
            subscribe(f"{base}/+/+/set", self._on_entity_command),
            subscribe(f"{base}/button/+/press", self._on_button),
            subscribe(f"{base}/request/+", self._on_request),
            subscribe(f"{base}/service/+/+", self._on_service),
            subscribe(f"{self.config['discovery_prefix']}/status", self._on_ha_status),
            subscribe(f"{self.config['discovery_prefix']}/+/{self.config['node_id']}/+/config", self._on_old_config),
        ]
        self.client.on_connect(self._on_connected)
        self._unsubs.append(self.hub.bus.async_listen(EVENT_STATE_CHANGED, self._on_state_changed))
        self._unsubs.append(self.hub.bus.async_listen(EVENT_SERVICE_REGISTERED, self._on_service_registered))
        await self.client.start()

    async def stop(self) -> None:
        for unsub in self._unsubs:
            unsub()
        await self.client.stop(offline_payload=(self.discovery.availability_topic, "offline"))

    def _on_connected(self) -> None:
        self.client.publish(self.discovery.availability_topic, "online", retain=True, qos=1)
        self.publish_all()

    def publish_all(self) -> None:
        """Discovery configs, then retained state: on every (re)connect and on HA's birth message."""
        for state in self.hub.states.async_all():
            if self.exposed(state.entity_id):
                self._publish_config_for(state)
                self._publish_state(state)
        for button in self.buttons():
            component, unique, payload = self.discovery.button_config(button)
            self._publish_config(component, unique, payload)

    def _publish_config(self, component: str, unique: str, payload: dict[str, Any]) -> None:
        topic = self.discovery.config_topic(component, unique)
        self._published_configs.add(topic)
        self.client.publish(topic, json.dumps(payload), retain=True, qos=1)

    def _publish_config_for(self, state: State) -> None:
        config = self.discovery.entity_config(state)
        if config is not None:
            self._publish_config(*config)

    def _publish_state(self, state: State) -> None:
        self.client.publish(self.discovery.state_topic(state.entity_id), state.state, retain=True, qos=1)
        self.client.publish(
            self.discovery.attributes_topic(state.entity_id),
            json.dumps(filtered_attributes(state), default=str),
            retain=True,
            qos=1,
        )

    def _clear(self, topic: str) -> None:
        self._published_configs.discard(topic)
        self.client.publish(topic, "", retain=True, qos=1)

    # -- hub → MQTT ------------------------------------------------------------------------------
    def _on_state_changed(self, event: Event) -> None:
        entity_id = event.data["entity_id"]
        if not self.exposed(entity_id) or not self.client.connected.is_set():
            return
        new_state: State | None = event.data["new_state"]
        old_state: State | None = event.data["old_state"]
        if new_state is None:
            config = self.discovery.entity_config(old_state) if old_state else None
            if config is not None:
                self._clear(self.discovery.config_topic(config[0], config[1]))
            return
        if old_state is None or (
            new_state.entity_id == "sensor.obs_scene"
            and old_state.attributes.get("scenes") != new_state.attributes.get("scenes")
        ):
            self._publish_config_for(new_state)
            if new_state.domain == "automation":
                self._publish_buttons()
        self._publish_state(new_state)

    def _on_service_registered(self, event: Event) -> None:
        if self.client.connected.is_set():
            self._publish_buttons()

    def _publish_buttons(self) -> None:
        for button in self.buttons():
            component, unique, payload = self.discovery.button_config(button)
            if self.discovery.config_topic(component, unique) not in self._published_configs:
                self._publish_config(component, unique, payload)

    def _on_ha_status(self, message: Message) -> None:
        if message.payload.decode(errors="replace").strip() == "online":
            _LOGGER.info("Home Assistant came online: re-publishing discovery")
            self.publish_all()

    def _on_old_config(self, message: Message) -> None:
        """A retained discovery config from an earlier run: clear it if its entity no longer exists."""
        if not message.retain or not message.payload or message.topic in self._published_configs:
            return
        delay = self.config["stale_clear_delay"]
        self.hub.loop.call_later(delay, self._clear_if_stale, message.topic)

    def _clear_if_stale(self, topic: str) -> None:
        if topic not in self._published_configs and self.client.connected.is_set():
            _LOGGER.info("Clearing stale discovery config %s", topic)
            self._clear(topic)

    # -- MQTT → hub ------------------------------------------------------------------------------
    def _check_allowed(self, domain: str, service: str) -> None:
        """Free-form service calls from the broker only reach `allowed_services` (unknown ones are left
        to the registry, whose "not available" error is the clearer answer)."""
        name = f"{domain}.{service}".lower()  # the registry is case-insensitive: SHELL/run is shell.run
        allowed = self.config.get("allowed_services", ["*"])
        if self.hub.services.has_service(domain, service) and not glob_match(allowed, name):
            raise CommandError(f"{name} is not allowed over MQTT (add it to mqtt: allowed_services)")

    async def _call(self, domain: str, service: str, data: dict[str, Any], want_response: bool = False) -> Any:
        self.commands_handled += 1
        context = Context(user_id="mqtt")
        handler = self.hub.services.get(domain, service)
        return_response = want_response and handler is not None and handler.supports_response != "none"
        return await self.hub.services.async_call(
            domain, service, data, blocking=True, context=context, return_response=return_response
        )

    def _publish_error(self, topic: str, error: str, payload: bytes) -> None:
        excerpt = payload[:200].decode("utf-8", errors="replace")
        self.client.publish(topic, json.dumps({"error": error, "payload": excerpt}), qos=1)
        _LOGGER.warning("MQTT command on %s rejected: %s", topic, error)

    async def _on_entity_command(self, message: Message) -> None:
        parts = message.topic.split("/")
        domain, object_id = parts[-3], parts[-2]
        entity_id = f"{domain}.{object_id}"
        command = message.payload.decode("utf-8", errors="replace").strip()
        error_topic = f"{message.topic}/error"
        try:
            if not self.exposed(entity_id) or self.hub.states.get(entity_id) is None:
                raise CommandError(f"unknown or unexposed entity {entity_id}")
            if entity_id == "sensor.obs_scene":
                await self._call("obs", "set_scene", {"scene": command})  # obs.set_scene's field
            elif domain in ("switch", "automation"):
                if command.lower() not in ("on", "off"):
                    raise CommandError(f"expected 'on' or 'off', got {command[:40]!r}")
                service = "turn_on" if command.lower() == "on" else "turn_off"
                await self._call(domain, service, {"entity_id": entity_id})
            else:
                raise CommandError(f"{entity_id} takes no commands")
        except (CommandError, ServiceError) as err:
            self._publish_error(error_topic, str(err), message.payload)

    async def _on_button(self, message: Message) -> None:
        button_id = message.topic.split("/")[-2]
        button = next((b for b in self.buttons() if b.object_id == button_id), None)
        if button is None:
            self._publish_error(f"{message.topic}/error", f"unknown button {button_id}", message.payload)
            return
        try:
            await self._call(button.domain, button.service, dict(button.data))
        except ServiceError as err:
            self._publish_error(f"{message.topic}/error", str(err), message.payload)

    async def _on_service(self, message: Message) -> None:
        _, _, domain, service = message.topic.rsplit("/", 3)
        error_topic = f"{message.topic}/error"
        try:
            data = self._json_object(message.payload)
            self._check_allowed(domain, service)
            response = await self._call(domain, service, data, want_response=True)
        except (CommandError, ServiceError) as err:
            self._publish_error(error_topic, str(err), message.payload)
            return
        except Exception as err:  # a handler bug: answer it, never lose it in an unretrieved task
            _LOGGER.exception("MQTT service call on %s failed", message.topic)
            self._publish_error(error_topic, f"{type(err).__name__}: {err}", message.payload)
            return
        self.client.publish(f"{message.topic}/result", json.dumps({"status": "ok", "data": response}, default=str))

    async def _on_request(self, message: Message) -> None:
        command = message.topic.rsplit("/", 1)[-1]
        response_topic = f"{self.base}/response/{command}"
        transaction = None
        try:
            body = self._json_object(message.payload)
            transaction = body.pop("transaction", None)
            data = await self._request(command, body)
            reply: dict[str, Any] = {"status": "ok", "data": data}
        except (CommandError, ServiceError) as err:
            reply = {"status": "error", "data": {}, "error": str(err)}
        except Exception as err:  # a handler bug: the requester still gets its answer
            _LOGGER.exception("MQTT request %s failed", command)
            reply = {"status": "error", "data": {}, "error": f"{type(err).__name__}: {err}"}
        if transaction is not None:
            reply["transaction"] = transaction
        self.client.publish(response_topic, json.dumps(reply, default=str), qos=1)

    async def _request(self, command: str, body: dict[str, Any]) -> Any:
        if command == "health":
            return {"state": str(self.hub.state), "version": self.hub.config.version}
        if command == "get_state":
            entity_id = str(body.get("entity_id", ""))
            state = self.hub.states.get(entity_id)
            if state is None or not self.exposed(entity_id):
                raise CommandError(f"unknown or unexposed entity {entity_id!r}")
            return {"entity_id": entity_id, "state": state.state, "attributes": filtered_attributes(state)}
        if command == "get_states":
            return [
                {"entity_id": s.entity_id, "state": s.state}
                for s in self.hub.states.async_all()
                if self.exposed(s.entity_id)
            ]
        if command == "call_service":
            domain, service = body.get("domain"), body.get("service")
            if not isinstance(domain, str) or not isinstance(service, str):
                raise CommandError("call_service needs 'domain' and 'service' strings")
            data = body.get("data", {})
            if not isinstance(data, dict):
                raise CommandError("'data' must be an object")
            self._check_allowed(domain, service)
            return await self._call(domain, service, data, want_response=True)
        raise CommandError(f"unknown request {command!r} (known: health, get_state, get_states, call_service)")

    @staticmethod
    def _json_object(payload: bytes) -> dict[str, Any]:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise CommandError(f"payload of {len(payload)} bytes is larger than {MAX_PAYLOAD_BYTES}")
        if not payload.strip():
            return {}
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as err:
            raise CommandError(f"invalid JSON: {err}") from err
        if not isinstance(data, dict):
            raise CommandError("payload must be a JSON object")
        return data


async def wait_connected(bridge: MqttBridge, timeout: float) -> None:
    await asyncio.wait_for(bridge.client.connected.wait(), timeout)
