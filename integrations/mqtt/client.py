"""paho-mqtt 2.x bridged to asyncio.

paho runs its network loop on its own thread (reconnecting by itself with backoff); every callback
hops onto the hub's loop with `call_soon_threadsafe` — never `create_task` from paho's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

_LOGGER = logging.getLogger(__name__)

MessageCallback = Callable[["Message"], Any]


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool


def topic_matches(subscription: str, topic: str) -> bool:
    """MQTT wildcard match (`+` one level, `#` the rest)."""
    sub_parts = subscription.split("/")
    topic_parts = topic.split("/")
    for index, part in enumerate(sub_parts):
        if part == "#":
            return True
        if index >= len(topic_parts):
            return False
        if part != "+" and part != topic_parts[index]:
            return False
    return len(sub_parts) == len(topic_parts)


class MqttClient:
    def __init__(self, loop: asyncio.AbstractEventLoop, config: dict[str, Any], will_topic: str) -> None:
        self._loop = loop
        self._config = config
        self._subscriptions: dict[str, list[MessageCallback]] = {}
        self._on_connect: list[Callable[[], Any]] = []
        self.connected = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=config["client_id"],
            protocol=paho.MQTTv311,
        )
        if config.get("username"):
            self._client.username_pw_set(config["username"], config.get("password"))
        if config.get("tls"):
            tls = config["tls"]
            self._client.tls_set(
                ca_certs=tls.get("ca_file"),
                certfile=tls.get("cert_file"),
                keyfile=tls.get("key_file"),
                cert_reqs=ssl.CERT_NONE if tls.get("insecure") else ssl.CERT_REQUIRED,
            )
            if tls.get("insecure"):
                self._client.tls_insecure_set(True)
        self._client.will_set(will_topic, "offline", qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.max_queued_messages_set(10000)
        self._client.on_connect = self._paho_connect
        self._client.on_disconnect = self._paho_disconnect
        self._client.on_message = self._paho_message
        self._client.on_subscribe = self._paho_subscribe
        self._pending_subscribe: int | None = None
        self._client.on_socket_open = self._paho_socket_open
        self.last_error: str | None = None

    # -- paho thread → loop ----------------------------------------------------------------------
    @staticmethod
    def _paho_socket_open(client: paho.Client, userdata: Any, sock: Any) -> None:
        # Key presses are tiny packets: without TCP_NODELAY, Nagle + delayed ACKs add ~40 ms to each.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _paho_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._loop.call_soon_threadsafe(self._connected, not reason.is_failure, str(reason))

    def _paho_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._loop.call_soon_threadsafe(self._disconnected, str(reason))

    def _paho_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self._loop.call_soon_threadsafe(self._subscribed, mid)

    def _paho_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        message = Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain))
        self._loop.call_soon_threadsafe(self._dispatch, message)

    # -- on the loop -----------------------------------------------------------------------------
    def _connected(self, ok: bool, reason: str) -> None:
        if not ok:
            if self.last_error != reason:
                _LOGGER.error("MQTT broker refused the connection: %s", reason)
            self.last_error = reason
            return
        _LOGGER.info("Connected to MQTT broker %s:%s", self._config["broker"], self._config["port"])
        self.last_error = None
        if not self._subscriptions:
            self._ready()
            return
        # "Connected" only once the broker acknowledged our subscriptions: a command published right
        # after `online` must not be lost.
        result, mid = self._client.subscribe([(topic, 1) for topic in self._subscriptions])
        self._pending_subscribe = mid if result == paho.MQTT_ERR_SUCCESS else None

    def _subscribed(self, mid: int) -> None:
        if mid == self._pending_subscribe:
            self._pending_subscribe = None
            self._ready()

    def _ready(self) -> None:
        self.connected.set()
        for callback in self._on_connect:
            result = callback()
            if asyncio.iscoroutine(result):
                self._spawn(result)

    def _disconnected(self, reason: str) -> None:
        if self.connected.is_set():
            _LOGGER.warning("Disconnected from MQTT broker (%s); reconnecting", reason)
        self.connected.clear()

    def _dispatch(self, message: Message) -> None:
        for subscription, callbacks in list(self._subscriptions.items()):
            if topic_matches(subscription, message.topic):
                for callback in list(callbacks):
                    try:
                        result = callback(message)
                        if asyncio.iscoroutine(result):
                            self._spawn(result)
                    except Exception:
                        _LOGGER.exception("Error handling MQTT message on %s", message.topic)

    def _spawn(self, coro: Any) -> None:
        """Keep a reference until the task ends (the loop holds only a weak one) and log its failure."""
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("MQTT handler failed", exc_info=task.exception())

    # -- API -------------------------------------------------------------------------------------
    def on_connect(self, callback: Callable[[], Any]) -> None:
        """Run on every (re)connect: re-publish retained state, discovery, availability."""
        self._on_connect.append(callback)

    async def start(self) -> None:
        # connect_async + loop_start: the first connection and every reconnect happen on paho's thread,
        # so a missing broker never blocks or crashes the hub.
        self._client.connect_async(self._config["broker"], self._config["port"], self._config["keepalive"])
        self._client.loop_start()

    async def stop(self, offline_payload: tuple[str, str] | None = None) -> None:
        if offline_payload is not None and self.connected.is_set():
            # A clean stop says "offline" itself (the broker only sends the will on a lost connection).
            info = self._client.publish(offline_payload[0], offline_payload[1], qos=1, retain=True)
            try:
                await asyncio.to_thread(info.wait_for_publish, 2)
            except (RuntimeError, ValueError) as err:
                _LOGGER.debug("Could not publish offline status: %s", err)
        await asyncio.to_thread(self._client.disconnect)
        await asyncio.to_thread(self._client.loop_stop)

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> None:
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, topic: str, callback: MessageCallback) -> Callable[[], None]:
        first = topic not in self._subscriptions
        self._subscriptions.setdefault(topic, []).append(callback)
        if first and self.connected.is_set():
            self._client.subscribe(topic, qos=1)

        def remove() -> None:
            callbacks = self._subscriptions.get(topic, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks and topic in self._subscriptions:
                del self._subscriptions[topic]
                if self.connected.is_set():
                    self._client.unsubscribe(topic)

        return remove


def glob_match(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)
