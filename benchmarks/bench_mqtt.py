"""Stream Deck key press latency over a real mosquitto broker on loopback.

Measures command-topic publish → service executed → state published back, over 1,000 presses,
p50/p99. Baseline in the same run: a plain MQTT round trip through the same broker (publish on one
topic, an echo client republishes, time until it comes back) — the floor any MQTT bridge pays.
Run: .venv/bin/python benchmarks/bench_mqtt.py [presses]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import paho.mqtt.client as paho
from mqtt_broker import mosquitto
from paho.mqtt.enums import CallbackAPIVersion

from integrations.mqtt import CONFIG_SCHEMA, MQTT, async_setup
from streamops.core import Hub, ServiceCall


def _client(port: int, name: str) -> paho.Client:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def measure(port: int, command_topic: str, state_topic: str, presses: int, payloads: tuple[str, str]) -> list[float]:
    got = threading.Event()
    expected: dict[str, Any] = {}
    client = _client(port, f"bench-{time.time_ns()}")

    def on_message(c: Any, u: Any, msg: paho.MQTTMessage) -> None:
        if msg.payload.decode() == expected.get("value"):
            got.set()

    client.on_message = on_message
    client.subscribe(state_topic, qos=0)
    time.sleep(0.3)  # let the SUBACK and any retained message pass before timing
    latencies = []
    for i in range(presses):
        value = payloads[i % 2]
        expected["value"] = value
        got.clear()
        start = time.perf_counter()
        client.publish(command_topic, value, qos=0)
        if not got.wait(5):
            raise TimeoutError(f"press {i} not answered")
        latencies.append(time.perf_counter() - start)
    client.loop_stop()
    client.disconnect()
    return latencies


async def main() -> None:
    presses = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp, mosquitto(Path(tmp) / "broker") as broker:
        # Baseline: an echo client, the same broker, the same measuring loop.
        echo = _client(broker.port, "echo")
        echo.on_message = lambda c, u, m: c.publish("echo/out", m.payload)
        echo.subscribe("echo/in")
        base = await asyncio.to_thread(measure, broker.port, "echo/in", "echo/out", presses, ("on", "off"))
        echo.loop_stop()

        hub = Hub(tmp, tmp)
        hub.states.async_set("switch.guardrails", "on")

        async def switch(call: ServiceCall) -> None:
            hub.states.async_set(call.data["entity_id"], "on" if call.service == "turn_on" else "off")

        hub.services.async_register("switch", "turn_on", switch)
        hub.services.async_register("switch", "turn_off", switch)
        await async_setup(hub, CONFIG_SCHEMA({"port": broker.port}))
        await hub.async_start()
        await hub.data[MQTT].client.connected.wait()
        lat = await asyncio.to_thread(
            measure,
            broker.port,
            "streamops/switch/guardrails/set",
            "streamops/switch/guardrails/state",
            presses,
            ("off", "on"),
        )
        await hub.async_stop()
    print(f"mqtt: {presses} presses command→service→state: p50 {_pct(lat, 50):.2f} ms, p99 {_pct(lat, 99):.2f} ms")
    print(
        f"mqtt: baseline echo round trip: p50 {_pct(base, 50):.2f} ms, p99 {_pct(base, 99):.2f} ms;"
        f" ratio p50 {statistics.median(lat) / statistics.median(base):.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
