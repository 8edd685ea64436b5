"""`streamops worker`: the same program on another machine, running only job runners fed by NATS.

The worker sets up a minimal hub (its own small SQLite, the jobs registry, media and files, plus
configured plugin modules) only to get the registered job types — the very runners the hub uses —
and never starts a local queue. For each job type it accepts it pulls from the shared durable
consumer; for each message it:

1. validates the payload (data only; a type it accepts; every path inside its mapped folders),
2. maps hub paths to its mounts, says `started` on the results stream,
3. on a redelivery, removes what a dead worker left (`cleanup`); asks `already_done` so a finished
   output is reused rather than produced twice; otherwise runs the type's runner,
4. while running, sends `in_progress` to JetStream (the ack deadline moves on) and progress to the hub,
5. publishes the result (paths mapped back) until JetStream stores it, then acknowledges the job.

A kill -9 stops the `in_progress` heartbeats, so JetStream redelivers the job after `ack_wait`.
A graceful stop (SIGTERM) terminates running jobs and naks them, so they are redelivered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from streamops import __version__
from streamops.core import Hub
from streamops.jobs import JobContext, JobError, JobType

from .capabilities import check_paths, detect_capabilities
from .config import connect_options
from .const import (
    CONTROL_SUBJECT,
    HEARTBEAT_SUBJECT,
    PROGRESS_SUBJECT,
    PROTOCOL_VERSION,
    STREAM_JOBS,
    result_subject,
)
from .protocol import JobMessage, PathMap, ProtocolError, dump, parse_job, parse_json
from .streams import ensure_job_consumer, ensure_streams

_LOGGER = logging.getLogger(__name__)

_PROGRESS_INTERVAL = 0.25


@dataclass
class WorkerSettings:
    """Everything `streamops worker` needs: connection keys plus the `worker:` block, flattened."""

    connection: dict[str, Any]
    name: str
    job_types: list[str]
    concurrency: int = 1
    path_map: dict[str, str] = field(default_factory=dict)
    allowed_dirs: list[str] = field(default_factory=list)
    plugins: list[str] = field(default_factory=list)
    data_dir: Path = Path(".")
    config_dir: Path | None = None
    sections: dict[str, Any] = field(default_factory=dict)  # media:, files: … from the configuration

    @property
    def ack_wait(self) -> float:
        return float(self.connection["ack_wait"])

    @property
    def heartbeat_interval(self) -> float:
        return float(self.connection["heartbeat_interval"])


async def build_runtime(settings: WorkerSettings) -> tuple[Hub, dict[str, JobType]]:
    """A hub that is never started: recorder (worker-local SQLite), jobs registry, media, files, plugins."""
    from streamops.loader import async_setup_components, discover

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    hub = Hub(settings.config_dir or settings.data_dir, settings.data_dir)
    hub.config.allowed_dirs = [Path(p) for p in [*settings.path_map.values(), *settings.allowed_dirs]]
    integrations = discover()
    raw = {"recorder": {"db_path": str(settings.data_dir / "worker.db")}, **settings.sections}
    configs = {}
    for domain in ("recorder", "jobs", "media", "files"):
        schema = integrations[domain].config_schema
        value = raw.get(domain) or {}
        configs[domain] = schema(value) if schema is not None else value
    results = await async_setup_components(hub, integrations, configs, set(configs))
    if not results.get("jobs"):
        raise RuntimeError("the job registry failed to set up (see the log)")
    from streamops.jobs import JOBS

    queue = hub.data[JOBS]
    for module_name in settings.plugins:
        module = importlib.import_module(module_name)
        register = getattr(module, "register_job_types", None)
        if register is None:
            raise RuntimeError(f"plugin {module_name} has no register_job_types(hub) function")
        for job_type in register(hub):
            queue.register_type(job_type)
    types = queue.types
    missing = [t for t in settings.job_types if t not in types]
    if missing:
        raise RuntimeError(
            f"worker configured for job types with no runner here: {', '.join(missing)}"
            f" (registered: {', '.join(sorted(types))}; plugins add more)"
        )
    return hub, {t: types[t] for t in settings.job_types}


class _ProgressSink:
    """Stands in for the JobQueue a JobContext reports to: progress goes to the hub over NATS."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.last: dict[int, float] = {}

    def _on_progress(self, ctx: JobContext) -> None:
        now = time.monotonic()
        if now - self.last.get(ctx.job_id, 0.0) >= _PROGRESS_INTERVAL:
            self.last[ctx.job_id] = now
            self.worker.send_progress(ctx)

    def _on_processes_changed(self, ctx: JobContext) -> None:
        pass

    def _on_worker_changed(self, ctx: JobContext) -> None:
        pass


@dataclass
class _Active:
    job: JobMessage
    msg: Msg
    ctx: JobContext
    task: asyncio.Task[Any] | None
    delivered: int
    canceled: bool = False
    started: float = field(default_factory=time.monotonic)


def _loose_ids(raw: bytes) -> tuple[int, int] | None:
    """(job_id, attempt) of a message that failed validation, when it has them at all."""
    try:
        data = parse_json(raw, "job")
        job_id, attempt = data.get("job_id"), data.get("attempt")
    except (ProtocolError, AttributeError):
        return None
    if isinstance(job_id, int) and isinstance(attempt, int) and job_id > 0 and attempt > 0:
        return job_id, attempt
    return None


class Worker:
    def __init__(self, settings: WorkerSettings, types: dict[str, JobType]) -> None:
        self.settings = settings
        self.name = settings.name
        self.types = types
        self.path_map = PathMap(settings.path_map, settings.allowed_dirs)
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.capabilities: dict[str, Any] = {"job_types": sorted(types)}
        self.paths: list[dict[str, Any]] = []
        self.active: dict[tuple[int, int], _Active] = {}
        self.completed = 0
        self.failed = 0
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._sink = _ProgressSink(self)
        self._stop = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = asyncio.Event()
        self._last_error_log = 0.0

    # ============================================================================================
    # life cycle
    # ============================================================================================
    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        self.paths = check_paths(self.path_map)
        for entry in self.paths:
            level = logging.INFO if entry["read"] and entry["write"] else logging.WARNING
            _LOGGER.log(
                level,
                "Path %s → %s: %s",
                entry["hub"],
                entry["worker"],
                "missing" if not entry["exists"] else f"read {entry['read']}, write {entry['write']}",
            )
        if not self.path_map.roots:
            _LOGGER.warning("No path_map or allowed_dirs: job paths are used as they are, unrestricted")
        # Test encodes for GPU encoders can take seconds: they must not delay taking jobs.
        self.capabilities["detecting"] = True
        self._tasks.append(asyncio.create_task(self._detect(), name="worker-capabilities"))
        if not await self._connect():
            return 0
        assert self.nc is not None and self.js is not None
        await ensure_streams(self.js)
        subs = {}
        for job_type in self.types:
            durable = await ensure_job_consumer(self.js, job_type, self.settings.ack_wait)
            subs[job_type] = await self.js.pull_subscribe_bind(durable=durable, stream=STREAM_JOBS)
        await self.nc.subscribe(CONTROL_SUBJECT, cb=self._on_control)
        self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name="worker-heartbeat"))
        self._tasks += [asyncio.create_task(self._fetch_loop(t, s), name=f"worker-fetch-{t}") for t, s in subs.items()]
        _LOGGER.info(
            "Worker %s ready: %s (concurrency %d, ack_wait %.0f s)",
            self.name,
            ", ".join(self.types),
            self.settings.concurrency,
            self.settings.ack_wait,
        )
        self.ready.set()
        await self._stop.wait()
        await self._shutdown()
        return 0

    async def _detect(self) -> None:
        self.capabilities = await detect_capabilities(list(self.types), self.settings.concurrency)
        _LOGGER.info("Capabilities: GPU encoders %s", ", ".join(self.capabilities["gpu_encoders"]) or "none")
        if self.nc is not None and self.nc.is_connected:
            await self._publish_plain(self._heartbeat_subject, dump(self._heartbeat()))

    async def _connect(self) -> bool:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self.nc = await nats.connect(
                    **connect_options(self.settings.connection, f"streamops-worker-{self.name}"),
                    error_cb=self._on_error,
                )
                self.js = self.nc.jetstream()
                return True
            except Exception as err:
                _LOGGER.warning("NATS unreachable (%s); retrying in %.0f s", err or type(err).__name__, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, 10.0)
        return False

    async def _on_error(self, err: Exception) -> None:
        now = time.monotonic()
        if (self.nc is None or not self.nc.is_connected) and now - self._last_error_log > 30:
            self._last_error_log = now
            _LOGGER.warning("NATS unreachable (%s); retrying", err or type(err).__name__)
        else:
            _LOGGER.debug("NATS: %s", err)

    async def _shutdown(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        running = [a.task for a in self.active.values() if a.task is not None and not a.task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=15)
        if self.nc is not None and self.nc.is_connected:
            with contextlib.suppress(Exception):
                await self.nc.publish(self._heartbeat_subject, dump(self._heartbeat("offline")))
                await self.nc.flush(timeout=2)
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), 5)
        _LOGGER.info("Worker %s stopped (%d done, %d failed)", self.name, self.completed, self.failed)

    # ============================================================================================
    # pulling
    # ============================================================================================
    async def _fetch_loop(self, job_type: str, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            await self._slots.acquire()
            try:
                messages = await sub.fetch(1, timeout=1.0)
            except asyncio.CancelledError:
                self._slots.release()
                raise
            except (TimeoutError, nats.errors.TimeoutError):
                self._slots.release()
                continue
            except Exception as err:
                self._slots.release()
                _LOGGER.debug("Fetching %s jobs failed (%s); retrying", job_type, err)
                await asyncio.sleep(0.5)
                continue
            if not messages:
                self._slots.release()
                continue
            task = asyncio.create_task(self._handle(messages[0]), name=f"worker-job-{job_type}")
            task.add_done_callback(lambda _t: self._slots.release())

    # ============================================================================================
    # one job
    # ============================================================================================
    async def _handle(self, msg: Msg) -> None:
        delivered = int(msg.metadata.num_delivered or 1)
        try:
            job = parse_job(msg.data)
        except ProtocolError as err:
            _LOGGER.error("Refusing a message on %s: %s", msg.subject, err)
            ids = _loose_ids(msg.data)
            if ids is not None:  # tell the hub, so its job fails with the reason instead of waiting
                stub = JobMessage(ids[0], ids[1], msg.subject.removeprefix("jobs."), {})
                await self._publish_result(stub, "rejected", delivered, error=str(err), retry=False)
            await self._settle(msg, "term")
            return
        problem = None
        if job.type not in self.types:
            problem = f"worker {self.name} does not accept {job.type} jobs (it accepts: {', '.join(self.types)})"
        params = self.path_map.to_worker(job.params)
        outside = self.path_map.outside_paths(params)
        if problem is None and outside:
            problem = f"paths outside this worker's mapped folders: {', '.join(outside[:5])}"
        if problem is not None:
            _LOGGER.error("Job %s rejected: %s", job.job_id, problem)
            await self._publish_result(job, "rejected", delivered, error=problem, retry=False)
            await self._settle(msg, "term")
            return
        key = (job.job_id, job.attempt)
        if key in self.active:
            return  # a redelivery of what this worker already runs: the running copy acks it
        jtype = self.types[job.type]
        ctx = JobContext(cast(Any, self._sink), job.job_id, job.type, params, job.attempt)
        active = _Active(job, msg, ctx, asyncio.current_task(), delivered)
        self.active[key] = active
        keepalive = asyncio.create_task(self._keepalive(active), name=f"worker-keepalive-{job.job_id}")
        try:
            await self._publish_result(job, "started", delivered, reliable=False)
            outcome = await self._execute(jtype, ctx, delivered)
        except asyncio.CancelledError:
            await self._terminate(ctx)
            await self._cleanup(jtype, params)
            if active.canceled:
                await self._settle(msg, "term")
            else:
                await self._settle(msg, "nak")  # worker stopping: someone else takes it now
            return
        finally:
            keepalive.cancel()
            self.active.pop(key, None)
            self._sink.last.pop(job.job_id, None)
        kind, payload = outcome
        if kind == "done":
            self.completed += 1
        else:
            self.failed += 1
        await self._publish_result(job, kind, delivered, **payload)
        await self._settle(msg, "ack")

    async def _execute(self, jtype: JobType, ctx: JobContext, delivered: int) -> tuple[str, dict[str, Any]]:
        try:
            if delivered > 1:
                # Redelivered: the worker that had it died; its temporaries go before anything else.
                await self._cleanup(jtype, ctx.params)
            result = await jtype.already_done(ctx.params) if jtype.already_done is not None else None
            if result is not None:
                _LOGGER.info("Job %s (%s) was already done; reusing its output", ctx.job_id, jtype.name)
            else:
                result = await jtype.run(ctx)
            if result is None:
                result = {}
            elif not isinstance(result, dict):
                result = {"result": result}
            await self._terminate(ctx)
            return "done", {"result": self.path_map.to_hub(result)}
        except JobError as err:
            await self._terminate(ctx)
            await self._cleanup(jtype, ctx.params)
            return "error", {"error": str(err), "retry": err.retry}
        except asyncio.CancelledError:
            raise
        except Exception as err:
            _LOGGER.exception("Job %s (%s) crashed", ctx.job_id, jtype.name)
            await self._terminate(ctx)
            await self._cleanup(jtype, ctx.params)
            return "error", {"error": f"{type(err).__name__}: {err}", "retry": True}

    async def _terminate(self, ctx: JobContext) -> None:
        from streamops.media.ffmpeg_runner import terminate_process_group

        for proc in list(ctx.processes):
            await terminate_process_group(proc, grace=5.0)

    async def _cleanup(self, jtype: JobType, params: dict[str, Any]) -> None:
        if jtype.cleanup is None:
            return
        try:
            await asyncio.wait_for(jtype.cleanup(params), 120)
        except Exception:
            _LOGGER.exception("Cleanup of a %s job failed", jtype.name)

    async def _keepalive(self, active: _Active) -> None:
        """Move the ack deadline on while working (and tell the hub how far along we are)."""
        interval = max(0.2, self.settings.ack_wait / 3)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await active.msg.in_progress()
            self.send_progress(active.ctx)

    async def _settle(self, msg: Msg, how: str) -> None:
        """ack / nak / term, retried while NATS reconnects (a lost ack only means a redelivery)."""
        for _ in range(20):
            try:
                if how == "ack":
                    await msg.ack_sync(timeout=2)
                elif how == "nak":
                    await msg.nak()
                else:
                    await msg.term()
                return
            except Exception as err:
                _LOGGER.debug("%s failed (%s); retrying", how, err)
                await asyncio.sleep(0.5)

    # ============================================================================================
    # talking to the hub
    # ============================================================================================
    async def _publish_result(
        self, job: JobMessage, kind: str, delivered: int, *, reliable: bool = True, **extra: Any
    ) -> None:
        payload = {
            "v": PROTOCOL_VERSION,
            "kind": kind,
            "job_id": job.job_id,
            "attempt": job.attempt,
            "type": job.type,
            "worker": self.name,
            "delivered": delivered,
            "sent": time.time(),
            **extra,
        }
        suffix = f"started-{self.name}-{delivered}" if kind == "started" else "final"
        msg_id = f"res-{job.job_id}-{job.attempt}-{suffix}"
        deadline = time.monotonic() + (120.0 if reliable else 5.0)
        while True:
            js = self.js
            if js is not None:
                try:
                    await js.publish(
                        result_subject(job.job_id), dump(payload), timeout=2.0, headers={"Nats-Msg-Id": msg_id}
                    )
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    _LOGGER.debug("Publishing the %s result of job %s failed: %s", kind, job.job_id, err)
            if time.monotonic() > deadline:
                _LOGGER.error("Could not publish the %s result of job %s; it will be redelivered", kind, job.job_id)
                return
            await asyncio.sleep(0.5)

    def send_progress(self, ctx: JobContext) -> None:
        nc = self.nc
        if nc is None or not nc.is_connected:
            return
        payload = dump(
            {
                "job_id": ctx.job_id,
                "attempt": ctx.attempt,
                "worker": self.name,
                "percent": ctx.percent,
                "speed": ctx.speed,
                "eta": ctx.eta,
                "message": ctx.message,
            }
        )
        asyncio.get_running_loop().create_task(self._publish_plain(f"{PROGRESS_SUBJECT}.{ctx.job_id}", payload))

    async def _publish_plain(self, subject: str, payload: bytes) -> None:
        with contextlib.suppress(Exception):
            assert self.nc is not None
            await self.nc.publish(subject, payload)

    @property
    def _heartbeat_subject(self) -> str:
        return f"{HEARTBEAT_SUBJECT}.{self.name}"

    def _heartbeat(self, status: str | None = None) -> dict[str, Any]:
        jobs = [
            {
                "job_id": a.job.job_id,
                "type": a.job.type,
                "attempt": a.job.attempt,
                "percent": a.ctx.percent,
                "message": a.ctx.message,
                "delivered": a.delivered,
                "elapsed": round(time.monotonic() - a.started, 1),
            }
            for a in self.active.values()
        ]
        return {
            "v": PROTOCOL_VERSION,
            "name": self.name,
            "status": status or ("busy" if jobs else "idle"),
            "jobs": jobs,
            "capabilities": self.capabilities,
            "paths": self.paths,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "version": __version__,
            "interval": self.settings.heartbeat_interval,
            "completed": self.completed,
            "failed": self.failed,
            "sent": time.time(),
        }

    async def _heartbeat_loop(self) -> None:
        while True:
            await self._publish_plain(self._heartbeat_subject, dump(self._heartbeat()))
            await asyncio.sleep(self.settings.heartbeat_interval)

    async def _on_control(self, msg: Msg) -> None:
        try:
            data = parse_json(msg.data, "control")
            key = (int(data["job_id"]), int(data["attempt"]))
        except (ProtocolError, KeyError, TypeError, ValueError):
            return
        if data.get("action") == "cancel":
            active = self.active.get(key)
            if active is not None and active.task is not None:
                _LOGGER.info("Job %s canceled by the hub", key[0])
                active.canceled = True
                active.task.cancel()
