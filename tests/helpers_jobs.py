"""Helpers for the job queue, guardrail and system monitor tests: real hubs, real processes."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from streamops.core import Event, Hub
from streamops.jobs import CONFIG_SCHEMA, JOBS, JobContext, JobQueue, JobType
from streamops.jobs import async_setup as jobs_setup
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import async_setup as recorder_setup

REPO = Path(__file__).resolve().parent.parent

# A worked process: a tight CPU loop that never ends on its own (the queue must stop or kill it).
CPU_LOOP = [sys.executable, "-c", "while True:\n    pass"]


async def setup_jobs(hub: Hub, config: dict[str, Any] | None = None, *, start: bool = True) -> JobQueue:
    """Recorder (real SQLite under the hub's data dir) + jobs, started like the bootstrap does."""
    if hub.data.get(JOBS) is None:
        from streamops.recorder import DATABASE

        if hub.data.get(DATABASE) is None:
            assert await recorder_setup(hub, RECORDER_SCHEMA({}))
        assert await jobs_setup(hub, CONFIG_SCHEMA(config or {}))
    queue = hub.data[JOBS]
    if start:
        await queue.async_start()
    return queue


def fast_config(**extra: Any) -> dict[str, Any]:
    """Short intervals so tests take milliseconds; guardrail sustain off unless a test asks for it."""
    config: dict[str, Any] = {
        "poll_interval": 0.1,
        "progress_interval": 0.05,
        "retry_backoff": 0.2,
        "retry_backoff_max": 5,
        "terminate_timeout": 2,
        "guardrails": {"sustain_seconds": 0},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


class EventLog:
    """Collects events of the given types (sync listener: nothing is lost or reordered)."""

    def __init__(self, hub: Hub, *types: str) -> None:
        self.events: list[Event] = []
        self._unsubs = [hub.bus.async_listen(t, self.events.append) for t in types]

    def of(self, event_type: str, job_id: int | None = None) -> list[dict[str, Any]]:
        return [
            dict(e.data)
            for e in self.events
            if e.event_type == event_type and (job_id is None or e.data.get("job_id") == job_id)
        ]

    def close(self) -> None:
        for unsub in self._unsubs:
            unsub()


def process_status(pid: int) -> str | None:
    """psutil status ('running', 'sleeping', 'stopped', 'zombie'), None when gone."""
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return None


def gone(pid: int) -> bool:
    return process_status(pid) in (None, psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> float:
    """Poll `predicate` (sync) every 10 ms; returns the seconds it took; AssertionError after timeout."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.01)


async def wait_job(
    queue: JobQueue,
    job_id: int,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 5.0,
    what: str = "job condition",
) -> dict[str, Any]:
    """Poll the journal row until predicate(row) holds."""
    start = time.monotonic()
    while True:
        job = await queue.get(job_id)
        assert job is not None
        if predicate(job):
            return job
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} not met within {timeout} s; last row: {job}")
        await asyncio.sleep(0.02)


def process_job_type(
    name: str = "test.process",
    *,
    heavy: bool = True,
    resource: str = "cpu",
    argv: list[str] | None = None,
    pids: list[int] | None = None,
    cleanups: list[dict[str, Any]] | None = None,
) -> JobType:
    """A job that runs a real process (CPU loop by default) until it exits or the job is cancelled.

    `params["seconds"]`, when given, ends the process after that long (a bounded amount of work
    measured in CPU time would be nicer but wall time is enough here).
    """

    async def run(ctx: JobContext) -> dict[str, Any]:
        command = argv or CPU_LOOP
        proc = await ctx.create_subprocess_exec(*command)
        if pids is not None:
            pids.append(proc.pid)
        seconds = ctx.params.get("seconds")
        if seconds is None:
            await proc.wait()
        else:
            # Count only unpaused time, like a stall watchdog must.
            start = time.monotonic()
            while time.monotonic() - start - ctx.paused_seconds < seconds:  # noqa: ASYNC110 - time-based
                await asyncio.sleep(0.02)
            ctx.detach_process(proc)
            proc.kill()
            await proc.wait()
        return {"pid": proc.pid, "paused_seconds": round(ctx.paused_seconds, 2)}

    async def cleanup(params: dict[str, Any]) -> None:
        if cleanups is not None:
            cleanups.append(params)

    return JobType(name, run, resource=resource, heavy=heavy, cleanup=cleanup)
