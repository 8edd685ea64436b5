"""A real mosquitto broker on a free loopback port, and a small synchronous test client."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Broker:
    port: int
    directory: Path
    conf: Path
    process: subprocess.Popen[bytes] | None = None
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "mosquitto.log", "ab"),
        )
        try:
            wait_port(self.port)
        except TimeoutError as err:
            log = (self.directory / "mosquitto.log").read_text(errors="replace")[-2000:]
            raise TimeoutError(f"{err}; mosquitto log:\n{log}") from None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with openssl."""
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_crt),
    )
    run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    run(
        "openssl",
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca_crt),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(ext),
        "-out",
        str(crt),
    )
    return ca_crt, crt, key


@contextmanager
def mosquitto(directory: Path, *, password: str | None = None, tls: bool = False) -> Iterator[Broker]:
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [f"listener {port} 127.0.0.1", "persistence false", "log_dest stderr", "set_tcp_nodelay true"]
    if os.geteuid() == 0:
        # Started as root, mosquitto drops to the `mosquitto` user, which cannot read pytest's 0700 tmp dirs.
        lines.append("user root")
    broker = Broker(port, directory, directory / "mosquitto.conf")
    if password:
        pwfile = directory / "passwd"
        pwfile.write_text("")
        subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "streamer", password], check=True, capture_output=True)
        lines += ["allow_anonymous false", f"password_file {pwfile}"]
        broker.username, broker.password = "streamer", password
    else:
        lines.append("allow_anonymous true")
    if tls:
        ca, crt, key = make_tls_files(directory)
        lines += [f"cafile {ca}", f"certfile {crt}", f"keyfile {key}"]
        broker.ca_file = ca
    broker.conf.write_text("\n".join(lines) + "\n")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class MqttProbe:
    """A synchronous MQTT client for assertions: records every message, waits with timeouts."""

    def __init__(self, broker: Broker, subscribe: str = "#") -> None:
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.seen: list[tuple[str, bytes, bool]] = []
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"test-{time.time_ns()}")
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        if broker.ca_file:
            self.client.tls_set(ca_certs=str(broker.ca_file))
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        info = self.client.subscribe(subscribe, qos=1)
        assert info[0] == 0

    def wait_for(self, topic: str, predicate: Callable[[bytes], bool] = lambda p: True, timeout: float = 10.0) -> bytes:
        for seen_topic, payload, _ in self.seen:
            if seen_topic == topic and predicate(payload):
                return payload
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching message on {topic} within {timeout} s")
            try:
                msg = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            if msg.topic == topic and predicate(bytes(msg.payload)):
                return bytes(msg.payload)

    def wait_json(self, topic: str, predicate: Callable[[Any], bool] = lambda p: True, timeout: float = 10.0) -> Any:
        return json.loads(self.wait_for(topic, lambda p: bool(p) and predicate(json.loads(p)), timeout))

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
