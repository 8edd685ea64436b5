"""A hub with remote workers enabled (in-process) and `streamops worker` subprocesses, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from streamops.core import Hub
from streamops.jobs import JOBS, JobQueue
from streamops.loader import async_setup_components, discover
from streamops.recorder import DATABASE, Database

REPO = Path(__file__).resolve().parent.parent
PLUGIN = "tests.helpers_remote_jobs"


async def start_hub(
    root: Path, url: str, *, remote: dict[str, Any] | None = None, jobs: dict[str, Any] | None = None
) -> Hub:
    """recorder + jobs + media + files + remote_workers on `root`, started (as `streamops run` would)."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(parents=True, exist_ok=True)
    hub = Hub(root / "config", root / "data")
    hub.config.raw = {"streamops": {"role": "all"}}
    integrations = discover()
    raw: dict[str, Any] = {
        "recorder": {},
        "jobs": {
            "poll_interval": 0.1,
            "progress_interval": 0.05,
            "retry_backoff": 0.2,
            "guardrails": {"sustain_seconds": 0},
            **(jobs or {}),
        },
        "media": {},
        "files": {},
        "remote_workers": {
            "enabled": True,
            "url": url,
            "ack_wait": 2,
            "heartbeat_interval": 0.5,
            "connect_timeout": 2,
            "publish_timeout": 10,
            **(remote or {}),
        },
    }
    configs = {domain: integrations[domain].config_schema(value) for domain, value in raw.items()}  # type: ignore[misc]
    results = await async_setup_components(hub, integrations, configs, set(configs))
    assert all(results.values()), results
    await hub.async_start()
    return hub


def queue_of(hub: Hub) -> JobQueue:
    return hub.data[JOBS]


def db_of(hub: Hub) -> Database:
    return hub.data[DATABASE]


class WorkerProcess:
    """`python -m streamops worker …` as a real subprocess (its own session, so kill -9 hits only it)."""

    def __init__(
        self,
        name: str,
        url: str,
        root: Path,
        types: list[str],
        *,
        path_map: dict[str, str] | None = None,
        concurrency: int = 1,
        ack_wait: float = 2.0,
        heartbeat: float = 0.5,
        extra: list[str] | None = None,
    ) -> None:
        self.name = name
        self.log = root / f"worker-{name}.log"
        self.argv = [
            sys.executable,
            "-m",
            "streamops",
            "worker",
            "--nats",
            url,
            "--name",
            name,
            "--types",
            ",".join(types),
            "--data",
            str(root / "workers"),
            "--plugin",
            PLUGIN,
            "--concurrency",
            str(concurrency),
            "--ack-wait",
            str(ack_wait),
            "--heartbeat",
            str(heartbeat),
        ]
        for hub_path, worker_path in (path_map or {}).items():
            self.argv += ["--path-map", f"{hub_path}={worker_path}"]
        self.argv += extra or []
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("NATS_URL", None)
        self.process = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill9(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
