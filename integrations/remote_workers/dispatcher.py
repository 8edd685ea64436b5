"""The hub side: hand jobs to NATS JetStream, follow their progress, journal their results.

Each job type sent to remote workers is registered with the queue as a *proxy* type of the same
name (resource class `remote`, so remote jobs do not take local CPU slots). Its runner publishes the
job to `jobs.<type>` and waits for the worker's result on the results stream; progress arrives on
plain NATS and is fed into the job's own `JobContext`, so the queue journals everything in
`so_jobs` exactly as for a local job (status, progress, result, retries, events) and the worker's
name shows in the `worker` column through `JobContext.set_worker`.

Where a job runs when things go wrong:

- NATS disabled → the proxy is not installed; everything is local.
- NATS unreachable (at start or for `publish_timeout` seconds), or no available worker accepts the
  type → the original local runner runs it (when `local_fallback`), and `sensor.remote_workers`
  says so with the reason.
- The hub stops or dies while a worker runs a job → the worker goes on; its result waits in the
  results stream; the restarted hub re-attaches to the same attempt (the message is re-published
  with the same de-duplication id, so it is not queued twice) and journals the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from streamops.config.env_overrides import _redact_url
from streamops.core import CoreState, Hub
from streamops.jobs import JobContext, JobError, JobQueue, JobType
from streamops.recorder import Database

from .config import connect_options, heartbeat_timeout
from .const import (
    CONTROL_SUBJECT,
    HEARTBEAT_SUBJECT,
    HUB_RESULTS_DURABLE,
    PROGRESS_SUBJECT,
    RESOURCE_REMOTE,
    SENSOR_STATUS,
    STREAM_JOBS,
    STREAM_RESULTS,
    job_subject,
)
from .protocol import JobMessage, ProtocolError, dump, parse_json, parse_result
from .registry import WorkerRegistry
from .store import FINAL, RemoteJobStore
from .streams import ensure_results_consumer, ensure_streams

_LOGGER = logging.getLogger(__name__)

_RETRY_CONNECT = 5.0


class RemoteDispatcher:
    """One per hub: the NATS connection, the proxy job types and the worker registry."""

    def __init__(self, hub: Hub, config: dict[str, Any], queue: JobQueue, db: Database) -> None:
        self.hub = hub
        self.config = config
        self.queue = queue
        self.store = RemoteJobStore(db)
        self.registry = WorkerRegistry(hub, heartbeat_timeout(config), float(config["heartbeat_interval"]))
        self.enabled: bool = bool(config["enabled"])
        self.local_fallback: bool = bool(config["local_fallback"])
        self.url_shown = ", ".join(_redact_url(u.strip()) for u in str(config["url"]).split(","))
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.status = "connecting" if self.enabled else "disabled"
        self.reason: str | None = None if self.enabled else "remote_workers.enabled is false (NATS_ENABLE)"
        self.types: list[str] = []
        self.originals: dict[str, JobType | None] = {}
        self.counters = {"dispatched": 0, "remote_done": 0, "remote_failed": 0, "local_runs": 0, "duplicates": 0}
        self.last_local_reason: str | None = None
        self._first_attempt = asyncio.Event()
        self._waiters: dict[tuple[int, int], asyncio.Future[dict[str, Any]]] = {}
        self._contexts: dict[int, JobContext] = {}
        self._seqs: dict[tuple[int, int], int] = {}
        self._local_slots: dict[str, asyncio.Semaphore] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self.hub_name = f"{socket.gethostname()}:{os.getpid()}"

    # ============================================================================================
    # setup
    # ============================================================================================
    def install(self, job_types: list[str]) -> None:
        """Replace each type's runner by the NATS proxy (the local runner is kept for fallback)."""
        current = self.queue.types
        for name in job_types:
            original = current.get(name)
            self.originals[name] = original
            self.queue.register_type(
                JobType(
                    name,
                    self._runner(name),
                    resource=RESOURCE_REMOTE,
                    heavy=False,  # the load is on the worker; a local fallback checks guardrails itself
                    # After a hub crash, the hub-side check still sees a finished output on shared storage.
                    already_done=None if original is None else original.already_done,
                    # Never the local cleanup: it would delete the temporary a live worker is writing.
                    cleanup=None,
                )
            )
        self.types = list(job_types)
        self.queue.concurrency.setdefault(RESOURCE_REMOTE, int(self.config["max_in_flight"]))

    async def async_start(self) -> None:
        self.publish_status()
        if self.enabled:
            self._tasks.append(self.hub.async_create_background_task(self._connect_loop(), "remote-workers-connect"))

    async def async_stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.registry.stop()
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), 5)

    # ============================================================================================
    # connection
    # ============================================================================================
    async def _connect_loop(self) -> None:
        while not self._stopping:
            try:
                nc = await nats.connect(
                    **connect_options(self.config, f"streamops-hub-{self.hub_name}"),
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                js = nc.jetstream()
                await ensure_streams(js)
                await ensure_results_consumer(js)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._set_status("fallback", f"NATS at {self.url_shown} unreachable: {err or type(err).__name__}")
                self._first_attempt.set()
                with contextlib.suppress(Exception):
                    if "nc" in locals() and not nc.is_closed:
                        await nc.close()
                await asyncio.sleep(_RETRY_CONNECT)
                continue
            self.nc, self.js = nc, js
            await nc.subscribe(f"{PROGRESS_SUBJECT}.*", cb=self._on_progress)
            await nc.subscribe(f"{HEARTBEAT_SUBJECT}.*", cb=self._on_heartbeat)
            self.registry.listening()
            self._tasks.append(self.hub.async_create_background_task(self._results_loop(), "remote-workers-results"))
            self._set_status("connected", None)
            _LOGGER.info("Connected to NATS at %s; remote job types: %s", self.url_shown, ", ".join(self.types))
            self._first_attempt.set()
            return

    async def _on_error(self, err: Exception) -> None:
        # nats.connect keeps retrying the first connection forever (it connects when the broker comes
        # up); each failed try lands here, so this is where "unreachable" becomes visible.
        if self.nc is None and not self._stopping:
            self._set_status("fallback", f"NATS at {self.url_shown} unreachable: {err or type(err).__name__}")
            self._first_attempt.set()
        _LOGGER.debug("NATS: %s", err)

    async def _on_disconnected(self) -> None:
        if not self._stopping:
            self._set_status("disconnected", f"lost the connection to NATS at {self.url_shown}; reconnecting")

    async def _on_reconnected(self) -> None:
        self._set_status("connected", None)

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def _set_status(self, status: str, reason: str | None) -> None:
        if (status, reason) != (self.status, self.reason):
            if status in ("fallback", "disconnected"):
                _LOGGER.warning("Remote workers: %s", reason)
            self.status, self.reason = status, reason
        self.publish_status()

    def publish_status(self) -> None:
        if self._stopping:
            return
        self.hub.states.async_set(
            SENSOR_STATUS,
            self.status,
            {
                "friendly_name": "Remote workers",
                "icon": "mdi:lan-connect" if self.status == "connected" else "mdi:lan-disconnect",
                "url": self.url_shown,
                "reason": self.reason,
                "job_types": self.types,
                "workers_available": self.registry.available_count(),
                "in_flight": len(self._waiters),
                "local_fallback": self.local_fallback,
                "last_local_reason": self.last_local_reason,
                **self.counters,
            },
        )

    # ============================================================================================
    # the proxy runner
    # ============================================================================================
    def _runner(self, job_type: str) -> Any:
        async def run(ctx: JobContext) -> dict[str, Any]:
            return await self._run(job_type, ctx)

        return run

    async def _run(self, job_type: str, ctx: JobContext) -> dict[str, Any]:
        original = self.originals.get(job_type)
        key = (ctx.job_id, ctx.attempt)
        future: asyncio.Future[dict[str, Any]] = self.hub.loop.create_future()
        # Registered before the journal is read: a result landing in between is never missed.
        self._waiters[key] = future
        self._contexts[ctx.job_id] = ctx
        try:
            record = await self.store.get(*key)
            if record is not None and record["status"] in FINAL:
                return self._outcome({**record, "kind": record["status"]})
            if record is None:
                reason = await self._local_reason(job_type)
                if reason is not None:
                    if original is None:
                        raise JobError(f"{job_type} runs only on remote workers, and {reason}", retry=True)
                    return await self._run_local(original, ctx, reason)
            elif record.get("worker"):
                ctx.set_worker(record["worker"])
            message = JobMessage(ctx.job_id, ctx.attempt, job_type, ctx.params, self.hub_name)
            seq = await self._publish(message)
            if seq is None:
                reason = f"NATS at {self.url_shown} did not accept the job within {self.config['publish_timeout']:g} s"
                if record is None and original is not None and self.local_fallback:
                    return await self._run_local(original, ctx, reason)
                raise JobError(reason, retry=True)
            self._seqs[key] = seq
            await self.store.dispatched(ctx.job_id, ctx.attempt, job_type, seq)
            self.counters["dispatched"] += 1
            ctx.progress(None, message="waiting for a remote worker")
            self.publish_status()
            return self._outcome(await future)
        except asyncio.CancelledError:
            if self.hub.state not in (CoreState.STOPPING, CoreState.STOPPED) and key in self._seqs:
                # A person cancelled it (a stopping hub leaves the worker running: it re-attaches).
                await asyncio.shield(self._cancel_remote(key))
            raise
        finally:
            self._waiters.pop(key, None)
            self._seqs.pop(key, None)
            if self._contexts.get(ctx.job_id) is ctx:
                del self._contexts[ctx.job_id]
            self.publish_status()

    def _outcome(self, message: dict[str, Any]) -> dict[str, Any]:
        worker = message.get("worker") or "?"
        kind = message["kind"]
        if kind == "done":
            self.counters["remote_done"] += 1
            result = dict(message.get("result") or {})
            result.setdefault("worker", worker)
            return result
        self.counters["remote_failed"] += 1
        if kind == "rejected":
            raise JobError(f"worker {worker} rejected the job: {message.get('error')}", retry=False)
        raise JobError(f"on worker {worker}: {message.get('error')}", retry=bool(message.get("retry", True)))

    async def _local_reason(self, job_type: str) -> str | None:
        """Why a new job of this type should run here instead (None: send it to NATS)."""
        if not self.local_fallback:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), float(self.config["connect_timeout"]) + 1)
        if not self.connected:
            return self.reason or f"NATS at {self.url_shown} is not connected"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.registry.wait_warm(), 2 * float(self.config["heartbeat_interval"]))
        if not self.registry.capable(job_type):
            return f"no available worker accepts {job_type}"
        return None

    async def _run_local(self, original: JobType, ctx: JobContext, reason: str) -> dict[str, Any]:
        self.counters["local_runs"] += 1
        if reason != self.last_local_reason:
            _LOGGER.warning("Running %s jobs locally: %s", original.name, reason)
        self.last_local_reason = reason
        self.publish_status()
        slots = self._local_slots.get(original.resource)
        if slots is None:
            limit = max(1, int(self.queue.concurrency.get(original.resource, 1)))
            slots = self._local_slots[original.resource] = asyncio.Semaphore(limit)
        async with slots:
            guardrails = self.queue.guardrails
            while original.heavy and guardrails is not None:
                held = guardrails.reason_for(True, None)
                if held is None:
                    break
                ctx.progress(None, message=f"running locally ({reason}); held: {held}")
                await asyncio.sleep(1.0)
            ctx.progress(None, message=f"running locally: {reason}")
            return await original.run(ctx)

    async def _publish(self, message: JobMessage) -> int | None:
        deadline = time.monotonic() + float(self.config["publish_timeout"])
        payload = message.encode()
        while True:
            js = self.js
            if js is not None and self.connected:
                try:
                    ack = await js.publish(
                        job_subject(message.type), payload, timeout=2.0, headers={"Nats-Msg-Id": message.msg_id}
                    )
                    return int(ack.seq)
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    _LOGGER.debug("Publishing job %s failed: %s", message.job_id, err)
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.25)

    async def _cancel_remote(self, key: tuple[int, int]) -> None:
        nc, js = self.nc, self.js
        if nc is None or js is None or not nc.is_connected:
            return
        with contextlib.suppress(Exception):
            await nc.publish(CONTROL_SUBJECT, dump({"action": "cancel", "job_id": key[0], "attempt": key[1]}))
            await nc.flush(timeout=2)
        seq = self._seqs.get(key)
        if seq is not None:
            with contextlib.suppress(Exception):
                await js.delete_msg(STREAM_JOBS, seq)  # still queued: it never starts

    # ============================================================================================
    # what comes back
    # ============================================================================================
    async def _results_loop(self) -> None:
        sub = None
        while True:
            try:
                if sub is None:
                    assert self.js is not None
                    sub = await self.js.pull_subscribe_bind(durable=HUB_RESULTS_DURABLE, stream=STREAM_RESULTS)
                messages = await sub.fetch(64, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception as err:
                _LOGGER.debug("Fetching results failed (%s); retrying", err)
                await asyncio.sleep(0.5)
                continue
            for msg in messages:
                try:
                    await self._on_result(msg)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    _LOGGER.exception("Handling a remote result failed; it is redelivered")

    async def _on_result(self, msg: Msg) -> None:
        try:
            data = parse_result(msg.data)
        except ProtocolError as err:
            _LOGGER.warning("Ignoring a result on %s: %s", msg.subject, err)
            await msg.ack()
            return
        key = (data["job_id"], data["attempt"])
        job_type = str(data.get("type") or "")
        if data["kind"] == "started":
            await self.store.started(key[0], key[1], job_type, data["worker"], int(data["delivered"]))
            ctx = self._contexts.get(key[0])
            if ctx is not None and ctx.attempt == key[1]:
                ctx.set_worker(data["worker"])
                ctx.progress(None, message=f"running on {data['worker']}")
        elif await self.store.finished(data, job_type):
            future = self._waiters.get(key)
            if future is not None and not future.done():
                future.set_result(data)
        else:
            self.counters["duplicates"] += 1
            _LOGGER.info(
                "Ignoring a duplicate %s result for job %s attempt %s from %s", data["kind"], *key, data["worker"]
            )
        await msg.ack()

    async def _on_progress(self, msg: Msg) -> None:
        try:
            data = parse_json(msg.data, "progress")
            ctx = self._contexts.get(int(data["job_id"]))
            if ctx is None or ctx.attempt != int(data["attempt"]):
                return
            if data.get("worker"):
                ctx.set_worker(str(data["worker"]))
            ctx.progress(data.get("percent"), speed=data.get("speed"), eta=data.get("eta"), message=data.get("message"))
        except (ProtocolError, KeyError, TypeError, ValueError) as err:
            _LOGGER.debug("Ignoring a progress message: %s", err)

    async def _on_heartbeat(self, msg: Msg) -> None:
        try:
            self.registry.on_heartbeat(parse_json(msg.data, "heartbeat"))
        except ProtocolError as err:
            _LOGGER.debug("Ignoring a heartbeat: %s", err)
            return
        self.publish_status()
