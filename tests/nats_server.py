"""A real nats-server with JetStream on a free loopback port, with its store in a temporary folder.

`restart()` keeps the port and the store, like a broker restarted by its supervisor.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.mqtt_broker import free_port, wait_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


@dataclass
class NatsServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "nats-server.log"

    def start(self) -> None:
        store = self.directory / "store"
        store.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(store)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),
        )
        try:
            wait_port(self.port)
        except TimeoutError as err:
            raise TimeoutError(f"{err}; nats-server log:\n{self.log.read_text(errors='replace')[-2000:]}") from None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def nats_server(directory: Path) -> Iterator[NatsServer]:
    server = NatsServer(free_port(), directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
