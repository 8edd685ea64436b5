"""MQTT integration against a real mosquitto broker started on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from integrations.mqtt import CONFIG_SCHEMA, MQTT, async_setup
from integrations.mqtt.discovery import REQUIRED_KEYS
from integrations.mqtt.trigger import TRIGGERS
from streamops.core import Hub, ServiceCall, SupportsResponse
from streamops.helpers.trigger_platform import TriggerInfo
from tests.mqtt_broker import Broker, MqttProbe, mosquitto
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with mosquitto(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def probe(broker: Broker) -> Any:
    client = MqttProbe(broker)
    yield client
    client.close()


def _config(broker: Broker, **extra: Any) -> dict[str, Any]:
    return CONFIG_SCHEMA({"broker": "127.0.0.1", "port": broker.port, "stale_clear_delay": 0.5, **extra})


def _stand_in_services(hub: Hub) -> list[ServiceCall]:
    """Services other integrations own (OBS, switches), standing in so commands have a target."""
    calls: list[ServiceCall] = []

    async def record(call: ServiceCall) -> dict[str, Any]:
        calls.append(call)
        if call.domain == "switch":
            hub.states.async_set(call.data["entity_id"], "on" if call.service == "turn_on" else "off")
        if call.service == "set_scene":
            hub.states.async_set("sensor.obs_scene", call.data["scene"], {"scenes": ["Gameplay", "BRB"]})
        return {"ok": True}

    for domain, service in (
        ("obs", "add_marker"),
        ("obs", "start_record"),
        ("obs", "set_scene"),
        ("switch", "turn_on"),
        ("switch", "turn_off"),
    ):
        hub.services.async_register(domain, service, record, supports_response=SupportsResponse.OPTIONAL)
    return calls


async def _start(hub: Hub, config: dict[str, Any]) -> None:
    assert await async_setup(hub, config)
    await hub.async_start()
    await asyncio.wait_for(hub.data[MQTT].client.connected.wait(), 10)


@pytest.fixture
async def bridge_hub(hub: Hub, broker: Broker) -> AsyncIterator[tuple[Hub, list[ServiceCall]]]:
    hub.states.async_set("sensor.cpu_percent", "12", {"unit_of_measurement": "%", "secret_path": "/x/secrets.yaml"})
    hub.states.async_set("binary_sensor.obs_recording", "off", {"device_class": "running"})
    hub.states.async_set("switch.guardrails", "on")
    hub.states.async_set("sensor.obs_scene", "Gameplay", {"scenes": ["Gameplay", "BRB"]})
    calls = _stand_in_services(hub)
    await _start(hub, _config(broker))
    yield hub, calls


def _run(coro_fn: Any, *args: Any) -> Any:
    return asyncio.get_running_loop().run_in_executor(None, coro_fn, *args)


async def test_discovery_payloads_have_required_keys(bridge_hub: Any, probe: MqttProbe) -> None:
    expected = {
        "sensor": "sensor_cpu_percent",
        "binary_sensor": "binary_sensor_obs_recording",
        "switch": "switch_guardrails",
        "select": "sensor_obs_scene",
        "button": "button_obs_add_marker",
    }
    for component, unique in expected.items():
        topic = f"homeassistant/{component}/streamops/{unique}/config"
        payload = await _run(probe.wait_json, topic)
        assert REQUIRED_KEYS[component] <= payload.keys(), (component, payload)
        assert payload["unique_id"] == f"streamops_{unique}"
        assert payload["device"]["identifiers"] == ["streamops"] and payload["device"]["sw_version"]
        assert payload["availability"][0]["topic"] == "streamops/status"
        assert payload["origin"]["name"] == "streamops"
    assert (await _run(probe.wait_json, "homeassistant/select/streamops/sensor_obs_scene/config"))["options"] == [
        "Gameplay",
        "BRB",
    ]
    # Attributes outside the allowlist never leave the hub.
    attributes = await _run(probe.wait_json, "streamops/sensor/cpu_percent/attributes")
    assert attributes == {"unit_of_measurement": "%"}
    assert await _run(probe.wait_for, "streamops/status") == b"online"


async def test_button_switch_select_commands_call_services(bridge_hub: Any, probe: MqttProbe) -> None:
    _, calls = bridge_hub
    await _run(probe.publish, "streamops/button/obs_add_marker/press", "PRESS")
    await _run(probe.publish, "streamops/switch/guardrails/set", "off")
    await _run(probe.publish, "streamops/sensor/obs_scene/set", "BRB")
    await _run(probe.wait_for, "streamops/sensor/obs_scene/state", lambda p: p == b"BRB")
    await _run(probe.wait_for, "streamops/switch/guardrails/state", lambda p: p == b"off")
    assert [(c.domain, c.service) for c in calls] == [
        ("obs", "add_marker"),
        ("switch", "turn_off"),
        ("obs", "set_scene"),
    ]


async def test_state_changes_are_retained(bridge_hub: Any, broker: Broker) -> None:
    hub, _ = bridge_hub
    hub.states.async_set("sensor.cpu_percent", "77", {"unit_of_measurement": "%"})
    first = MqttProbe(broker, "streamops/sensor/cpu_percent/state")
    try:
        await _run(first.wait_for, "streamops/sensor/cpu_percent/state", lambda p: p == b"77")
    finally:
        first.close()
    # A client connecting afterwards still gets the value: it was retained.
    late = MqttProbe(broker, "streamops/sensor/cpu_percent/state")
    try:
        await _run(late.wait_for, "streamops/sensor/cpu_percent/state", lambda p: p == b"77")
        assert any(retain for _, _, retain in late.seen)
    finally:
        late.close()


@pytest.mark.parametrize(
    ("topic", "payload", "needle"),
    [
        ("streamops/service/obs/add_marker", b"{not json", "invalid JSON"),
        ("streamops/service/nope/missing", b"{}", "nope.missing not available"),
        ("streamops/service/mqtt/publish", b'{"topic": 5}', "invalid data for mqtt.publish"),
        ("streamops/service/obs/add_marker", b"[1,2]", "must be a JSON object"),
        ("streamops/service/obs/add_marker", b'{"a": "' + b"x" * 70000 + b'"}', "larger than"),
        ("streamops/switch/guardrails/set", b"maybe", "expected 'on' or 'off'"),
        ("streamops/button/not_a_button/press", b"PRESS", "unknown button"),
    ],
)
async def test_malformed_commands_report_errors_and_change_nothing(
    bridge_hub: Any, probe: MqttProbe, topic: str, payload: bytes, needle: str
) -> None:
    hub, calls = bridge_hub
    before = {s.entity_id: s.state for s in hub.states.async_all()}
    await _run(probe.publish, topic, payload)
    error = await _run(probe.wait_json, f"{topic}/error")
    assert needle in error["error"]
    assert calls == []
    assert {s.entity_id: s.state for s in hub.states.async_all()} == before


async def test_request_response_echoes_transaction(bridge_hub: Any, probe: MqttProbe) -> None:
    await _run(
        probe.publish,
        "streamops/request/get_state",
        json.dumps({"entity_id": "switch.guardrails", "transaction": "t-42"}),
    )
    reply = await _run(probe.wait_json, "streamops/response/get_state")
    assert reply == {
        "status": "ok",
        "data": {"entity_id": "switch.guardrails", "state": "on", "attributes": {}},
        "transaction": "t-42",
    }
    await _run(probe.publish, "streamops/request/bogus", json.dumps({"transaction": 7}))
    reply = await _run(probe.wait_json, "streamops/response/bogus")
    assert reply["status"] == "error" and reply["transaction"] == 7 and "unknown request" in reply["error"]


async def test_stale_configs_cleared_and_birth_republishes(hub: Hub, broker: Broker, probe: MqttProbe) -> None:
    # A retained discovery config left by an earlier run, for an entity that no longer exists.
    stale = "homeassistant/sensor/streamops/sensor_gone/config"
    await _run(probe.publish, stale, json.dumps({"name": "gone"}), True)
    hub.states.async_set("sensor.cpu_percent", "5")
    await _start(hub, _config(broker))
    await _run(probe.wait_for, stale, lambda p: p == b"")  # cleared with an empty retained payload
    hub.states.async_remove("sensor.cpu_percent")
    await _run(probe.wait_for, "homeassistant/sensor/streamops/sensor_cpu_percent/config", lambda p: p == b"")
    hub.states.async_set("switch.guardrails", "on")
    await _run(probe.wait_json, "homeassistant/switch/streamops/switch_guardrails/config")
    probe.seen.clear()
    await _run(probe.publish, "homeassistant/status", "online")
    # Home Assistant's birth message makes the bridge publish its discovery configs again.
    await _run(probe.wait_json, "homeassistant/switch/streamops/switch_guardrails/config")


async def test_mqtt_trigger_platform(bridge_hub: Any, probe: MqttProbe) -> None:
    hub, _ = bridge_hub
    fired: list[dict[str, Any]] = []
    platform = TRIGGERS["mqtt"]
    config = platform.schema(
        {"trigger": "mqtt", "topic": "deck/+/key", "value_template": "{{ value_json.k }}", "payload": "marker"}
    )
    unsub = await platform.attach(hub, config, lambda payload, ctx: fired.append(payload), TriggerInfo("a", "A"))
    await _run(probe.publish, "deck/1/key", json.dumps({"k": "scene"}))
    await _run(probe.publish, "deck/1/key", json.dumps({"k": "marker"}))
    await wait_until(lambda: fired)
    assert fired[0]["topic"] == "deck/1/key" and fired[0]["value"] == "marker" and len(fired) == 1
    unsub()


async def test_hub_survives_broker_restart(bridge_hub: Any, broker: Broker) -> None:
    hub, _ = bridge_hub
    bridge = hub.data[MQTT]
    broker.stop()
    await wait_until(lambda: not bridge.client.connected.is_set())
    hub.states.async_set("sensor.cpu_percent", "55", {"unit_of_measurement": "%"})  # made while disconnected
    broker.start()
    await asyncio.wait_for(bridge.client.connected.wait(), 20)
    probe = MqttProbe(broker)
    try:
        # The broker kept nothing (persistence off): everything retained comes from the re-publish.
        await _run(probe.wait_for, "streamops/status", lambda p: p == b"online")
        await _run(probe.wait_for, "streamops/sensor/cpu_percent/state", lambda p: p == b"55")
    finally:
        probe.close()


async def test_password_auth_and_wrong_password(hub: Hub, tmp_path: Path) -> None:
    with mosquitto(tmp_path / "pw", password="s3cret") as broker:
        hub.states.async_set("sensor.cpu_percent", "1")
        assert await async_setup(hub, _config(broker, username="streamer", password="wrong"))
        await hub.async_start()
        bridge = hub.data[MQTT]
        await wait_until(lambda: bridge.client.last_error is not None)
        assert "Not authorized" in bridge.client.last_error or "Bad user name" in bridge.client.last_error
        assert not bridge.client.connected.is_set()
        await hub.async_stop()

        second = Hub(hub.config.config_dir, hub.config.data_dir)
        second.states.async_set("sensor.cpu_percent", "2")
        await _start(second, _config(broker, username="streamer", password="s3cret"))
        probe = MqttProbe(broker)
        try:
            await _run(probe.wait_for, "streamops/sensor/cpu_percent/state", lambda p: p == b"2")
        finally:
            probe.close()
            await second.async_stop()


async def test_tls_broker(hub: Hub, tmp_path: Path) -> None:
    with mosquitto(tmp_path / "tls", tls=True) as broker:
        hub.states.async_set("sensor.cpu_percent", "3")
        await _start(hub, _config(broker, tls={"ca_file": str(broker.ca_file)}))
        probe = MqttProbe(broker)
        try:
            await _run(probe.wait_for, "streamops/sensor/cpu_percent/state", lambda p: p == b"3")
        finally:
            probe.close()


async def test_last_will_fires_offline_when_hub_is_killed(broker: Broker, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio
        from streamops.core import Hub
        from integrations.mqtt import CONFIG_SCHEMA, MQTT, async_setup

        async def main():
            hub = Hub({str(tmp_path)!r}, {str(tmp_path)!r})
            await async_setup(hub, CONFIG_SCHEMA({{"port": {broker.port}, "keepalive": 5}}))
            await hub.async_start()
            await hub.data[MQTT].client.connected.wait()
            print("connected", flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
        """
    )
    probe = MqttProbe(broker, "streamops/status")
    proc = subprocess.Popen(  # noqa: ASYNC220 - a real process to SIGKILL
        [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent
    )
    try:
        line = await _run(proc.stdout.readline)
        assert line.strip() == b"connected"
        await _run(probe.wait_for, "streamops/status", lambda p: p == b"online")
        os.kill(proc.pid, signal.SIGKILL)
        probe.seen.clear()
        await _run(probe.wait_for, "streamops/status", lambda p: p == b"offline", 20)
    finally:
        proc.kill()
        proc.wait()
        probe.close()
