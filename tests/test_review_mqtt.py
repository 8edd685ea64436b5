"""Review: what anyone who can publish to the MQTT broker can make the hub do.

Failed before the fixes: `streamops/service/shell/run` (and `request/call_service`) ran any service,
shell hooks and file moves included; `mqtt.publish` rendered its payload as a template a second time
(template injection from trigger data); the OBS scene select sent `scene_name` to obs.set_scene,
whose field is `scene`.
"""

# ruff: noqa: ASYNC240 - tests check small files

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_broker import Broker, MqttProbe, mosquitto

from integrations.mqtt import CONFIG_SCHEMA, MQTT, async_setup
from integrations.obs.services import _SIMPLE, _schema
from streamops import shell
from streamops.core import Hub, ServiceCall, SupportsResponse

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with mosquitto(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def probe(broker: Broker) -> Any:
    client = MqttProbe(broker)
    yield client
    client.close()


def _run(fn: Any, *args: Any) -> Any:
    return asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def _start(hub: Hub, broker: Broker, tmp_path: Path, probe: MqttProbe | None = None, **extra: Any) -> Path:
    marker = tmp_path / "ran"
    assert await shell.async_setup(hub, {"commands": {"touch": ["/usr/bin/touch", str(marker)]}})
    config = CONFIG_SCHEMA({"broker": "127.0.0.1", "port": broker.port, **extra})
    assert await async_setup(hub, config)
    await hub.async_start()
    await asyncio.wait_for(hub.data[MQTT].client.connected.wait(), 10)
    if probe is not None:
        # "online" is published after the hub's SUBSCRIBEs on the same connection: once the broker
        # relays it, commands published now are routed to the hub (connected alone does not say so).
        await _run(probe.wait_for, "streamops/status", lambda p: p == b"online")
    return marker


@pytest.fixture
async def started(hub: Hub, broker: Broker, probe: MqttProbe, tmp_path: Path) -> AsyncIterator[Path]:
    yield await _start(hub, broker, tmp_path, probe)


@pytest.mark.parametrize("topic", ["streamops/service/shell/run", "streamops/service/SHELL/Run"])
async def test_service_topic_cannot_run_shell_hooks_by_default(started: Path, probe: MqttProbe, topic: str) -> None:
    await _run(probe.publish, topic, json.dumps({"command": "touch"}))
    error = await _run(probe.wait_json, f"{topic}/error")
    assert "not allowed over MQTT" in error["error"]
    assert not started.exists()


async def test_request_call_service_cannot_run_shell_hooks_by_default(started: Path, probe: MqttProbe) -> None:
    body = {"domain": "shell", "service": "run", "data": {"command": "touch"}, "transaction": 1}
    await _run(probe.publish, "streamops/request/call_service", json.dumps(body))
    reply = await _run(probe.wait_json, "streamops/response/call_service")
    assert reply["status"] == "error" and "not allowed over MQTT" in reply["error"]
    assert not started.exists()


async def test_allowed_services_opt_in(hub: Hub, broker: Broker, probe: MqttProbe, tmp_path: Path) -> None:
    marker = await _start(hub, broker, tmp_path, probe, allowed_services=["shell.run"])
    await _run(probe.publish, "streamops/service/shell/run", json.dumps({"command": "touch"}))
    result = await _run(probe.wait_json, "streamops/service/shell/run/result")
    assert result["status"] == "ok" and marker.exists()


async def test_publish_does_not_render_payload_a_second_time(hub: Hub) -> None:
    assert await async_setup(hub, CONFIG_SCHEMA({}))
    # What an automation passes after rendering "{{ trigger.payload }}" of a hostile chat message.
    hostile = "{{ states('sensor.secret') }}{{ 6 * 7 }}"
    hub.states.async_set("sensor.secret", "hunter2")
    result = await hub.services.async_call("mqtt", "publish", {"topic": "chat/echo", "payload": hostile}, dry_run=True)
    assert result["payload"] == hostile


async def test_scene_select_calls_obs_set_scene_with_its_real_field(
    hub: Hub, broker: Broker, probe: MqttProbe, tmp_path: Path
) -> None:
    calls: list[ServiceCall] = []

    async def set_scene(call: ServiceCall) -> dict[str, Any]:
        calls.append(call)
        hub.states.async_set("sensor.obs_scene", call.data["scene"], {"scenes": ["Gameplay", "BRB"]})
        return {}

    # The real obs.set_scene schema (the OBS integration's own), with a stand-in handler: no OBS here.
    hub.services.async_register(
        "obs", "set_scene", set_scene, _schema(_SIMPLE["set_scene"][3]), supports_response=SupportsResponse.OPTIONAL
    )
    hub.states.async_set("sensor.obs_scene", "Gameplay", {"scenes": ["Gameplay", "BRB"]})
    await _start(hub, broker, tmp_path, probe)
    await _run(probe.publish, "streamops/sensor/obs_scene/set", "BRB")
    await _run(probe.wait_for, "streamops/sensor/obs_scene/state", lambda p: p == b"BRB")
    assert [c.data["scene"] for c in calls] == ["BRB"]


async def test_unexpected_service_exception_is_answered_not_lost(
    hub: Hub, broker: Broker, probe: MqttProbe, tmp_path: Path
) -> None:
    async def broken(call: ServiceCall) -> None:
        raise RuntimeError("handler bug")

    hub.services.async_register("obs", "add_marker", broken)
    await _start(hub, broker, tmp_path, probe)
    await _run(probe.publish, "streamops/service/obs/add_marker", "{}")
    error = await _run(probe.wait_json, "streamops/service/obs/add_marker/error")
    assert "handler bug" in error["error"]
    body = {"domain": "obs", "service": "add_marker", "transaction": "t1"}
    await _run(probe.publish, "streamops/request/call_service", json.dumps(body))
    reply = await _run(probe.wait_json, "streamops/response/call_service")
    assert reply["status"] == "error" and "handler bug" in reply["error"] and reply["transaction"] == "t1"
