"""The hub's view of its workers: `sensor.worker_<name>` from heartbeats, `unavailable` when they stop.

A heartbeat says what the worker is doing (idle / busy and its current jobs), what it can do (job
types, working GPU encoders, CPU count) and which mapped paths it can read and write. A worker whose
heartbeats stop for `heartbeat_timeout` seconds becomes `unavailable` (a kill -9, a network cut);
one that shuts down cleanly says `offline` itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from streamops.core import STATE_UNAVAILABLE, Hub

from .const import worker_entity_id

_LOGGER = logging.getLogger(__name__)


@dataclass
class WorkerInfo:
    name: str
    status: str = "idle"
    last_seen: float = 0.0  # monotonic
    last_heartbeat: float = 0.0  # wall clock, for people
    job_types: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status in ("idle", "busy")


class WorkerRegistry:
    def __init__(self, hub: Hub, timeout: float, interval: float) -> None:
        self.hub = hub
        self.timeout = timeout
        self.interval = interval
        self.workers: dict[str, WorkerInfo] = {}
        self._watch: asyncio.Task[None] | None = None
        self._listening_since: float | None = None

    # -- input -------------------------------------------------------------------------------------
    def on_heartbeat(self, data: dict[str, Any]) -> None:
        name = str(data.get("name") or "")
        if not name:
            return
        info = self.workers.get(name) or WorkerInfo(name)
        self.workers[name] = info
        info.status = str(data.get("status") or "idle")
        info.last_seen = time.monotonic()
        info.last_heartbeat = time.time()
        info.job_types = list((data.get("capabilities") or {}).get("job_types") or [])
        info.data = data
        self._publish(info)

    def listening(self) -> None:
        """Heartbeats flow from now on (connected)."""
        if self._listening_since is None:
            self._listening_since = time.monotonic()
        if self._watch is None:
            self._watch = self.hub.async_create_background_task(self._watchdog(), "remote-workers-watchdog")

    # -- questions ---------------------------------------------------------------------------------
    @property
    def warm(self) -> bool:
        """Listened long enough (1.5 heartbeat intervals) that a silent worker really is absent."""
        return self._listening_since is not None and time.monotonic() - self._listening_since >= 1.5 * self.interval

    async def wait_warm(self) -> None:
        """Return once warm (call after `listening()`)."""
        if self._listening_since is not None:
            await asyncio.sleep(max(0.0, self._listening_since + 1.5 * self.interval - time.monotonic()))

    def capable(self, job_type: str) -> list[str]:
        return sorted(n for n, w in self.workers.items() if w.usable and job_type in w.job_types)

    def available_count(self) -> int:
        return sum(1 for w in self.workers.values() if w.usable)

    # -- output ------------------------------------------------------------------------------------
    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.interval))
            now = time.monotonic()
            for info in list(self.workers.values()):
                if info.usable and now - info.last_seen > self.timeout:
                    _LOGGER.warning(
                        "Worker %s missed its heartbeats for %.0f s: unavailable", info.name, now - info.last_seen
                    )
                    info.status = STATE_UNAVAILABLE
                    self._publish(info)

    def _publish(self, info: WorkerInfo) -> None:
        data = info.data
        jobs = list(data.get("jobs") or [])
        capabilities = dict(data.get("capabilities") or {})
        self.hub.states.async_set(
            worker_entity_id(info.name),
            info.status,
            {
                "friendly_name": f"Worker {info.name}",
                "icon": "mdi:server-network",
                "current_job": jobs[0] if jobs else None,
                "jobs": jobs,
                "capabilities": capabilities,
                "gpu_encoders": capabilities.get("gpu_encoders", []),
                "job_types": info.job_types,
                "paths": data.get("paths") or [],
                "last_heartbeat": info.last_heartbeat,
                "host": data.get("host"),
                "pid": data.get("pid"),
                "version": data.get("version"),
                "completed": data.get("completed"),
                "failed": data.get("failed"),
            },
        )

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
