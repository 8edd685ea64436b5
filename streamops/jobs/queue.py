"""JobQueue: the SQLite-journaled queue every heavy piece of work goes through.

The journal (`so_jobs`) is the truth; memory holds only what this process is running. That makes
three things simple:

- crash recovery: at start, rows a dead hub was running go back to `queued` (orphaned processes
  killed, the type's `cleanup` run, `already_done` consulted so a finished output is not redone);
- the offline CLI: `streamops jobs cancel ID` changes the row directly when no hub runs the job, or
  leaves a `request` the running hub applies within `poll_interval`;
- scheduling: one pass reads the queued rows by priority and starts what the concurrency limits,
  guardrails, active hours and dependencies allow. A pass runs when something changed (submit,
  finish, guard change) and at least every `poll_interval`.

Priorities: higher runs first; equal priorities run in submission order.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psutil
import voluptuous as vol

from ..core import Hub, ServiceError
from ..core.services import humanize_invalid
from ..recorder import Database
from .context import JobContext, _signal_process
from .guardrails import JOB_GUARDRAILS_SCHEMA, Guardrails
from .model import (
    ACTIVE_STATUSES,
    EVENT_JOB_CANCELED,
    EVENT_JOB_FAILED,
    EVENT_JOB_FINISHED,
    EVENT_JOB_PAUSED,
    EVENT_JOB_PROGRESS,
    EVENT_JOB_QUEUED,
    EVENT_JOB_RESUMED,
    EVENT_JOB_STARTED,
    FINAL_STATUSES,
    STATUS_CANCELED,
    STATUS_DONE,
    STATUS_ERROR,
    STATUS_PAUSED,
    STATUS_QUEUED,
    STATUS_RUNNING,
    STATUSES,
    JobError,
    JobType,
    row_to_dict,
    split_worker,
)
from .schedule import ActiveHours, backoff_delay

_LOGGER = logging.getLogger(__name__)

SENSOR_QUEUED = "sensor.jobs_queued"
SENSOR_RUNNING = "sensor.jobs_running"

_PAGE = 200
_INSERT_JOB = (
    "INSERT INTO so_jobs (type, status, priority, params, max_retries, resource, heavy, guardrails,"
    " dedupe_key, depends_on, blocked_reason, created, updated)"
    " VALUES (:type, 'queued', :priority, :params, :max_retries, :resource, :heavy, :guardrails,"
    " :dedupe_key, :depends_on, :blocked_reason, :now, :now)"
)


def _waiting_for(job_id: int) -> str:
    return f"waiting for job {job_id} to finish"


_RECOVERY_STEP_TIMEOUT = 120.0
_USER_PAUSED_REASON = "paused by user"


def _live_python(pid: int) -> bool:
    """A running Python process with this pid (another hub), not a recycled pid of something else."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and "python" in proc.name().lower()
    except psutil.Error:
        return False


def _short(message: str, limit: int = 160) -> str:
    line = message.strip().splitlines()[-1] if message.strip() else message
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class _Running:
    """A job this process is executing."""

    job_id: int
    job_type: JobType
    ctx: JobContext
    resource: str
    heavy: bool
    overrides: dict[str, Any] | None
    max_retries: int
    task: asyncio.Task[None] | None = None
    user_paused: bool = False
    guard_reason: str | None = None
    cancel_requested: bool = False
    stop_requested: bool = False
    # The runner has returned or raised: only the journal write is left, which must not be cancelled.
    finishing: bool = False
    started_monotonic: float = field(default_factory=time.monotonic)
    last_emit: float = 0.0
    last_db_progress: float = 0.0
    emit_handle: asyncio.TimerHandle | None = None

    @property
    def blocked_reason(self) -> str | None:
        if self.user_paused:
            return _USER_PAUSED_REASON
        return self.guard_reason


class JobQueue:
    """Submit, run, pause, cancel and retry jobs; see the module docstring for the model."""

    def __init__(self, hub: Hub, db: Database, config: dict[str, Any]) -> None:
        self.hub = hub
        self.db = db
        self.config = config
        self.concurrency: dict[str, int] = dict(config.get("concurrency") or {})
        self.max_retries: int = config.get("max_retries", 2)
        self.retry_backoff: float = config.get("retry_backoff", 10.0)
        self.retry_backoff_max: float = config.get("retry_backoff_max", 600.0)
        self.poll_interval: float = config.get("poll_interval", 1.0)
        self.progress_interval: float = config.get("progress_interval", 0.25)
        self.terminate_timeout: float = config.get("terminate_timeout", 5.0)
        self.heavy_overrides: dict[str, bool] = dict(config.get("heavy") or {})
        hours = config.get("active_hours")
        self.active_hours: ActiveHours | None = (
            ActiveHours(hours["start"], hours["end"], hub.config.time_zone) if hours else None
        )
        self.guardrails: Guardrails | None = None
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._types: dict[str, JobType] = {}
        self._running: dict[int, _Running] = {}
        self._waiters: dict[int, builtins.list[asyncio.Future[dict[str, Any]]]] = {}
        self._wake = asyncio.Event()
        self._started = False
        self._stopping = False
        self._loops: builtins.list[asyncio.Task[None]] = []
        self._sensor_handle: asyncio.TimerHandle | None = None
        self._sensor_task: asyncio.Task[None] | None = None
        self._sensor_dirty = False
        self._last_sensor = 0.0
        self._bulk_guard_reason: str | None = None
        # True while some queued job may have a future next_run_at (backoff, active hours), so
        # passes look up the next wake-up time only then. Start-up assumes there may be.
        self._timed = True

    # ============================================================================================
    # public API
    # ============================================================================================
    def register_type(self, job_type: JobType) -> None:
        """Make a job type runnable here. Registering the same name again replaces it."""
        if not job_type.name or "." not in job_type.name:
            raise ValueError(f"job type name must be 'domain.action', got {job_type.name!r}")
        self._types[job_type.name] = job_type
        self.kick()

    @property
    def types(self) -> dict[str, JobType]:
        return dict(self._types)

    def is_heavy(self, job_type: JobType) -> bool:
        """The type's own flag unless `jobs: {heavy: {<type>: bool}}` says otherwise."""
        return bool(self.heavy_overrides.get(job_type.name, job_type.heavy))

    async def submit(
        self,
        job_type: str,
        params: dict[str, Any],
        *,
        priority: int = 0,
        dedupe_key: str | None = None,
        guardrails: dict[str, Any] | None = None,
        depends_on: int | None = None,
        max_retries: int | None = None,
    ) -> int:
        """Journal a job and return its id (or the id of the active job with the same dedupe_key)."""
        jtype = self._types.get(job_type)
        if jtype is None:
            known = ", ".join(sorted(self._types)) or "none"
            raise ServiceError(f"unknown job type {job_type!r} (registered: {known})")
        try:
            params_json = json.dumps(params)
        except (TypeError, ValueError) as err:
            raise ServiceError(f"params of {job_type} job are not JSON-serialisable: {err}") from err
        overrides: dict[str, Any] | None = None
        if guardrails is not None:
            try:
                overrides = JOB_GUARDRAILS_SCHEMA(dict(guardrails))
            except vol.Invalid as err:
                raise ServiceError(f"invalid guardrails for {job_type} job: {humanize_invalid(err)}") from err
        retries = self.max_retries if max_retries is None else int(max_retries)
        if retries < 0:
            raise ServiceError(f"max_retries must be >= 0, got {retries}")
        row = {
            "type": job_type,
            "priority": int(priority),
            "params": params_json,
            "max_retries": retries,
            "resource": jtype.resource,
            "heavy": int(self.is_heavy(jtype)),
            "guardrails": None if overrides is None else json.dumps(overrides),
            "dedupe_key": dedupe_key,
            "depends_on": depends_on,
            "blocked_reason": None,
            "now": time.time(),
        }
        if dedupe_key is None and depends_on is None:
            job_id = await self.db.execute(_INSERT_JOB, row)  # one statement: no transaction needed
        else:
            async with self.db.transaction() as conn:
                if dedupe_key is not None:
                    cursor = await conn.execute(
                        "SELECT id FROM so_jobs WHERE dedupe_key = ? AND status IN ('queued', 'running', 'paused')"
                        " ORDER BY id LIMIT 1",
                        (dedupe_key,),
                    )
                    existing = await cursor.fetchone()
                    await cursor.close()
                    if existing is not None:
                        return int(existing["id"])
                if depends_on is not None:
                    cursor = await conn.execute("SELECT id, status FROM so_jobs WHERE id = ?", (int(depends_on),))
                    found = await cursor.fetchone()
                    await cursor.close()
                    if found is None:
                        raise ServiceError(f"depends_on: no job with id {depends_on}")
                    if found["status"] != STATUS_DONE:
                        # Shown at once, even while the scheduler does not look at this job's class.
                        row["blocked_reason"] = _waiting_for(int(depends_on))
                cursor = await conn.execute(_INSERT_JOB, row)
                job_id = int(cursor.lastrowid or 0)
                await cursor.close()
        self.hub.bus.async_fire(
            EVENT_JOB_QUEUED,
            {"job_id": job_id, "type": job_type, "priority": int(priority), "params": params, "attempt": 0},
        )
        self.kick()
        self._sensors_dirty()
        return job_id

    async def get(self, job_id: int) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM so_jobs WHERE id = ?", (int(job_id),))
        return None if row is None else row_to_dict(row)

    async def list(
        self,
        status: str | Iterable[str] | None = None,
        limit: int = 100,
        *,
        job_type: str | None = None,
        before_id: int | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """Newest first; `status` one or several statuses, `before_id` for paging."""
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if status is not None:
            wanted = [status] if isinstance(status, str) else builtins.list(status)
            bad = [s for s in wanted if s not in STATUSES]
            if bad:
                raise ServiceError(f"unknown job status {', '.join(bad)} (one of: {', '.join(STATUSES)})")
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            params += wanted
        if job_type is not None:
            where.append("type = ?")
            params.append(job_type)
        if before_id is not None:
            where.append("id < ?")
            params.append(int(before_id))
        sql = "SELECT * FROM so_jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(max(1, min(int(limit), 10_000)))
        return [row_to_dict(row) for row in await self.db.fetchall(sql, params)]

    async def wait(self, job_id: int, timeout: float | None = None) -> dict[str, Any]:
        """The job's row once it is done, error or canceled (a retry in between keeps waiting)."""
        job_id = int(job_id)
        future: asyncio.Future[dict[str, Any]] = self.hub.loop.create_future()
        self._waiters.setdefault(job_id, []).append(future)
        try:
            job = await self.get(job_id)
            if job is None:
                raise ServiceError(f"no job with id {job_id}")
            if job["status"] in FINAL_STATUSES:
                return job
            async with asyncio.timeout(timeout):
                return await future
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                if future in waiters:
                    waiters.remove(future)
                if not waiters:
                    del self._waiters[job_id]

    async def cancel(self, job_id: int) -> dict[str, Any]:
        """Cancel a queued, paused or running job; a running one's processes are terminated first."""
        job = await self._require(job_id)
        running = self._running.get(job["id"])
        if running is not None:
            if running.task is not None and not running.task.done():
                if not running.finishing:  # too late to cancel: it is writing its outcome
                    running.cancel_requested = True
                    running.task.cancel()
                await asyncio.wait({running.task}, timeout=self.terminate_timeout + 10)
            return await self._require(job_id)
        if job["status"] in FINAL_STATUSES:
            raise ServiceError(f"job {job_id} is already {job['status']}: nothing to cancel")
        now = time.time()
        changed = await self.db.execute(
            "UPDATE so_jobs SET status = 'canceled', finished = :now, updated = :now, blocked_reason = NULL,"
            " next_run_at = NULL, request = NULL WHERE id = :id AND status IN ('queued', 'paused')",
            {"id": job["id"], "now": now},
        )
        if not changed:  # it started (or finished) between the read and the write
            await self._changed_meanwhile(job)
            return await self.cancel(job_id)
        job = await self._require(job_id)
        self.hub.bus.async_fire(EVENT_JOB_CANCELED, {"job_id": job["id"], "type": job["type"]})
        self._resolve(job)
        self._sensors_dirty()
        self.kick()  # dependants fail
        return job

    async def pause(self, job_id: int) -> dict[str, Any]:
        """Hold a job: a running one stops (SIGSTOP / wait_unpaused), a queued one does not start."""
        job = await self._require(job_id)
        running = self._running.get(job["id"])
        if running is not None:
            if not running.user_paused:
                running.user_paused = True
                self._apply_pause(running, persist=False)
                await self._persist_pause(running)
            return await self._require(job_id)
        if job["status"] == STATUS_PAUSED:
            return job
        if job["status"] != STATUS_QUEUED:
            raise ServiceError(f"job {job_id} is {job['status']}: only queued or running jobs can be paused")
        changed = await self.db.execute(
            "UPDATE so_jobs SET status = 'paused', user_paused = 1, blocked_reason = :reason, updated = :now,"
            " request = NULL WHERE id = :id AND status = 'queued'",
            {"id": job["id"], "now": time.time(), "reason": _USER_PAUSED_REASON},
        )
        if not changed:
            await self._changed_meanwhile(job)
            return await self.pause(job_id)
        self.hub.bus.async_fire(EVENT_JOB_PAUSED, {"job_id": job["id"], "type": job["type"], "reason": "user"})
        self._sensors_dirty()
        return await self._require(job_id)

    async def resume(self, job_id: int) -> dict[str, Any]:
        """Undo a user pause (a guardrail may still hold a heavy job: its blocked_reason says so)."""
        job = await self._require(job_id)
        running = self._running.get(job["id"])
        if running is not None:
            if running.user_paused:
                running.user_paused = False
                self._apply_pause(running, persist=False)
                await self._persist_pause(running)
            return await self._require(job_id)
        if job["status"] != STATUS_PAUSED:
            if job["status"] in ACTIVE_STATUSES:
                return job
            raise ServiceError(f"job {job_id} is {job['status']}: only paused jobs can be resumed (use retry)")
        changed = await self.db.execute(
            "UPDATE so_jobs SET status = 'queued', user_paused = 0, blocked_reason = NULL, updated = :now,"
            " request = NULL WHERE id = :id AND status = 'paused' AND worker IS NULL",
            {"id": job["id"], "now": time.time()},
        )
        if not changed:
            await self._changed_meanwhile(job)
            return await self.resume(job_id)
        self.hub.bus.async_fire(EVENT_JOB_RESUMED, {"job_id": job["id"], "type": job["type"]})
        self.kick()
        self._sensors_dirty()
        return await self._require(job_id)

    async def retry(self, job_id: int) -> dict[str, Any]:
        """Run a failed or canceled job again (attempts start over), or a backing-off one now."""
        job = await self._require(job_id)
        if job["status"] in (STATUS_ERROR, STATUS_CANCELED):
            await self.db.execute(
                "UPDATE so_jobs SET status = 'queued', attempts = 0, error = NULL, result = NULL, progress = NULL,"
                " speed = NULL, eta = NULL, message = NULL, next_run_at = NULL, blocked_reason = NULL,"
                " finished = NULL, user_paused = 0, request = NULL, updated = :now"
                " WHERE id = :id AND status IN ('error', 'canceled')",
                {"id": job["id"], "now": time.time()},
            )
        elif job["status"] == STATUS_QUEUED and job["next_run_at"] is not None:
            await self.db.execute(
                "UPDATE so_jobs SET next_run_at = NULL, blocked_reason = NULL, updated = :now"
                " WHERE id = :id AND status = 'queued'",
                {"id": job["id"], "now": time.time()},
            )
        else:
            raise ServiceError(
                f"job {job_id} is {job['status']}: only failed, canceled or backing-off jobs can be retried"
            )
        job = await self._require(job_id)
        self.hub.bus.async_fire(EVENT_JOB_QUEUED, {"job_id": job["id"], "type": job["type"], "retry": True})
        self.kick()
        self._sensors_dirty()
        return job

    def kick(self) -> None:
        """Ask for a scheduling pass soon (cheap; coalesced)."""
        self._wake.set()

    def running_jobs(self) -> builtins.list[dict[str, Any]]:
        """What this process runs right now, for sensors and the API."""
        out = []
        for rj in self._running.values():
            ctx = rj.ctx
            out.append(
                {
                    "id": rj.job_id,
                    "type": rj.job_type.name,
                    "resource": rj.resource,
                    "percent": None if ctx.percent is None else round(ctx.percent, 1),
                    "speed": ctx.speed,
                    "eta": None if ctx.eta is None else round(ctx.eta, 1),
                    "message": ctx.message,
                    "paused": ctx.paused,
                    "blocked_reason": rj.blocked_reason,
                    "elapsed": round(time.monotonic() - rj.started_monotonic, 1),
                    "worker": ctx.worker,
                }
            )
        return out

    # ============================================================================================
    # life cycle
    # ============================================================================================
    async def async_start(self) -> None:
        """Recover what a previous run left, then start scheduling (after every component registered its types)."""
        if self._started:
            return
        await self._recover()
        self._started = True
        if self.guardrails is not None:
            self.guardrails.async_start()
        self._loops = [
            self.hub.async_create_background_task(self._scheduler_loop(), "jobs-scheduler"),
            self.hub.async_create_background_task(self._reconcile_loop(), "jobs-reconcile"),
        ]
        self._publish_sensors(await self._counts())

    async def async_stop(self) -> None:
        """Interrupt running jobs (they go back to the queue and resume at the next start)."""
        self._stopping = True
        for task in self._loops:
            task.cancel()
        tasks = []
        for rj in builtins.list(self._running.values()):
            rj.stop_requested = True
            if rj.task is not None and not rj.task.done():
                if not rj.finishing:
                    rj.task.cancel()
                tasks.append(rj.task)
        if tasks:
            await asyncio.wait(tasks, timeout=self.terminate_timeout + 10)
        await asyncio.gather(*self._loops, return_exceptions=True)
        if self._sensor_handle is not None:
            self._sensor_handle.cancel()
        if self.guardrails is not None:
            self.guardrails.async_stop()
        for waiters in self._waiters.values():
            for future in waiters:
                if not future.done():
                    future.set_exception(ServiceError("the hub is stopping; the job resumes at the next start"))

    # ============================================================================================
    # recovery
    # ============================================================================================
    async def _recover(self) -> None:
        """Put back what a crashed or killed hub left in flight.

        Only one hub uses a database, and every `worker` value is written by a hub's own queue
        (remote executions are labelled `label@host:pid` of the hub that dispatched them), so any
        in-flight row at start belongs to a dead predecessor — also when the host name changed (a
        recreated container). The one exception is a live hub process on this host still using the
        file: its rows are left alone.
        """
        host = socket.gethostname()
        rows = await self.db.fetchall(
            "SELECT * FROM so_jobs WHERE worker IS NOT NULL OR status = 'running' ORDER BY id"
        )
        for row in rows:
            worker = row["worker"]
            same_host = True
            if worker is not None:
                _label, owner_host, owner_pid = split_worker(worker)
                same_host = owner_host == host
                if same_host and owner_pid.isdigit() and int(owner_pid) != os.getpid():
                    if _live_python(int(owner_pid)):
                        _LOGGER.warning("Job %s is owned by live process %s; leaving it", row["id"], owner_pid)
                        continue
            job = row_to_dict(row)
            if same_host:
                self._kill_orphans(job)  # pids mean nothing on another host (or in another container)
            jtype = self._types.get(job["type"])
            if jtype is not None and jtype.cleanup is not None:
                await self._call_cleanup(jtype, job)
            now = time.time()
            if job["status"] == STATUS_RUNNING or (job["status"] == STATUS_PAUSED and not job["user_paused"]):
                result = None
                if jtype is not None and jtype.already_done is not None:
                    try:
                        result = await asyncio.wait_for(jtype.already_done(job["params"]), _RECOVERY_STEP_TIMEOUT)
                    except Exception:
                        _LOGGER.exception("Job %s: already_done check failed; the job runs again", job["id"])
                if result is not None:
                    await self.db.execute(
                        "UPDATE so_jobs SET status = 'done', result = :result, progress = 100, finished = :now,"
                        " updated = :now, worker = NULL, pids = NULL, blocked_reason = NULL, request = NULL"
                        " WHERE id = :id",
                        {"id": job["id"], "now": now, "result": json.dumps(result)},
                    )
                    _LOGGER.info("Job %s (%s) had finished before the restart; not redoing it", job["id"], job["type"])
                    self.hub.bus.async_fire(
                        EVENT_JOB_FINISHED,
                        {"job_id": job["id"], "type": job["type"], "result": result, "recovered": True},
                    )
                    continue
                # An interruption is not the job's fault: it does not use up a retry.
                await self.db.execute(
                    # A pending CLI request (e.g. cancel) stays: the reconcile loop applies it after start.
                    "UPDATE so_jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), worker = NULL,"
                    " pids = NULL, blocked_reason = :reason, updated = :now WHERE id = :id",
                    {"id": job["id"], "now": now, "reason": "requeued after an unclean stop"},
                )
                _LOGGER.warning("Job %s (%s) was interrupted by a crash; requeued", job["id"], job["type"])
            else:
                await self.db.execute(
                    "UPDATE so_jobs SET worker = NULL, pids = NULL, updated = :now WHERE id = :id",
                    {"id": job["id"], "now": now},
                )

    def _kill_orphans(self, job: dict[str, Any]) -> None:
        """Processes a killed hub left behind (a SIGSTOPped ffmpeg would otherwise wait forever)."""
        for entry in job.get("pids") or []:
            try:
                pid, created = int(entry[0]), float(entry[1])
                proc = psutil.Process(pid)
                if abs(proc.create_time() - created) > 0.5:
                    continue  # the pid was reused by something else
            except (psutil.Error, TypeError, ValueError, IndexError):
                continue
            _LOGGER.warning("Job %s: killing orphaned process %s (%s)", job["id"], pid, proc.name())
            _signal_process(pid, 9)
            try:
                proc.wait(timeout=5)
            except psutil.Error:
                pass

    async def _call_cleanup(self, jtype: JobType, job: dict[str, Any]) -> None:
        if jtype.cleanup is None:
            return
        try:
            await asyncio.wait_for(jtype.cleanup(job["params"]), _RECOVERY_STEP_TIMEOUT)
        except Exception:
            _LOGGER.exception("Job %s (%s): cleanup failed", job["id"], job["type"])

    # ============================================================================================
    # scheduling
    # ============================================================================================
    async def _scheduler_loop(self) -> None:
        while True:
            self._wake.clear()
            wake_at: float | None = None
            try:
                wake_at = await self._schedule_pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Job scheduling pass failed")
            delay = self.poll_interval
            if wake_at is not None:
                delay = max(0.0, min(delay, wake_at - time.time()))
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _free_slots(self) -> dict[str, int]:
        used: dict[str, int] = {}
        for rj in self._running.values():
            used[rj.resource] = used.get(rj.resource, 0) + 1
        return {res: self.concurrency.get(res, 1) - used.get(res, 0) for res in {*self.concurrency, *used}}

    def _slots_for(self, free: dict[str, int], resource: str) -> int:
        return free.get(resource, self.concurrency.get(resource, 1))

    async def _schedule_pass(self) -> float | None:
        """Start what may start; write why the rest waits. Returns when the next timed wake-up is due.

        Only rows of resource classes with a free slot are read, a few per slot (most passes start
        one job), so a pass costs the same with 10 or 10,000 jobs queued. Heavy jobs held by the global
        guardrails are filtered in SQL and get their reason in one bulk update when the guard changes.
        """
        if not self._started or self._stopping:
            return None
        now = time.time()
        free = self._free_slots()
        guard_sql = ""
        default_guard = self.guardrails.reason_for(True, None) if self.guardrails is not None else None
        if default_guard != self._bulk_guard_reason:
            await self._bulk_guard_update(default_guard, now)
        if default_guard is not None:
            guard_sql = " AND NOT (heavy = 1 AND guardrails IS NULL)"
        resources = {*self.concurrency, *(t.resource for t in self._types.values())}
        open_classes = {res for res in resources if self._slots_for(free, res) > 0}
        page = min(_PAGE, 8 + 4 * sum(self._slots_for(free, res) for res in open_classes))
        cursor_key: tuple[int, int] | None = None
        while open_classes:
            marks = ", ".join("?" * len(open_classes))
            sql = (
                "SELECT id, type, priority, params, resource, heavy, guardrails, depends_on, next_run_at,"
                f" blocked_reason, attempts, max_retries FROM so_jobs WHERE status = 'queued' AND resource IN ({marks})"
                " AND (next_run_at IS NULL OR next_run_at <= ?)" + guard_sql
            )
            args: builtins.list[Any] = [*sorted(open_classes), now]
            if cursor_key is not None:
                sql += " AND (priority < ? OR (priority = ? AND id > ?))"
                args += [cursor_key[0], cursor_key[0], cursor_key[1]]
            sql += " ORDER BY priority DESC, id LIMIT ?"
            args.append(page)
            rows = await self.db.fetchall(sql, args)
            dep_status = await self._dependency_statuses(rows)
            for row in rows:
                cursor_key = (row["priority"], row["id"])
                resource = row["resource"]
                if resource not in open_classes or row["id"] in self._running:
                    continue
                reason, until, fail = self._blocker(row, dep_status, now)
                if fail is not None:
                    await self._fail_unstarted(row, fail)
                elif reason is not None:
                    if until is not None:
                        self._timed = True
                    if reason != row["blocked_reason"] or until != row["next_run_at"]:
                        await self.db.execute(
                            "UPDATE so_jobs SET blocked_reason = ?, next_run_at = ?, updated = ?"
                            " WHERE id = ? AND status = 'queued'",
                            (reason, until, now, row["id"]),
                        )
                elif await self._start(row):
                    free[resource] = self._slots_for(free, resource) - 1
                    if free[resource] <= 0:
                        open_classes.discard(resource)
            if len(rows) < page:
                break
            page = _PAGE
        if not self._timed:
            return None
        row = await self.db.fetchone(
            "SELECT MIN(next_run_at) AS at FROM so_jobs WHERE status = 'queued' AND next_run_at > ?", (now,)
        )
        at = None if row is None else row["at"]
        self._timed = at is not None  # set again whenever a next_run_at is written
        return at

    async def _bulk_guard_update(self, reason: str | None, now: float) -> None:
        """Show the global guard's reason on every queued heavy job it holds (and clear it on release)."""
        self._bulk_guard_reason = reason
        if reason is None:
            await self.db.execute(
                "UPDATE so_jobs SET blocked_reason = NULL, updated = ? WHERE status = 'queued'"
                " AND blocked_reason LIKE 'guardrail:%'",
                (now,),
            )
        else:
            await self.db.execute(
                "UPDATE so_jobs SET blocked_reason = ?, updated = ? WHERE status = 'queued' AND heavy = 1"
                " AND guardrails IS NULL AND (blocked_reason IS NULL OR blocked_reason LIKE 'guardrail:%')",
                (reason, now),
            )
        self._sensors_dirty()

    async def _dependency_statuses(self, rows: Iterable[Any]) -> dict[int, str]:
        deps = {row["depends_on"] for row in rows if row["depends_on"] is not None}
        if not deps:
            return {}
        found = await self.db.fetchall(
            f"SELECT id, status FROM so_jobs WHERE id IN ({', '.join('?' * len(deps))})", builtins.list(deps)
        )
        return {row["id"]: row["status"] for row in found}

    def _blocker(self, row: Any, deps: dict[int, str], now: float) -> tuple[str | None, float | None, str | None]:
        """(blocked_reason, until, failure) for a queued row whose time has come."""
        dep = row["depends_on"]
        if dep is not None:
            status = deps.get(dep)
            if status is None:
                return None, None, f"dependency job {dep} no longer exists"
            if status in (STATUS_ERROR, STATUS_CANCELED):
                return None, None, f"dependency job {dep} ended with status {status}"
            if status != STATUS_DONE:
                return _waiting_for(dep), None, None
        if row["type"] not in self._types:
            return f"no runner for job type {row['type']} here (is its integration set up?)", None, None
        heavy = bool(row["heavy"])
        if heavy and self.active_hours is not None and not self.active_hours.contains(now):
            until = self.active_hours.next_start(now)
            return f"outside active hours {self.active_hours.label}", until, None
        if self.guardrails is not None:
            overrides = json.loads(row["guardrails"]) if row["guardrails"] else None
            reason = self.guardrails.reason_for(heavy, overrides)
            if reason is not None:
                return reason, None, None
        return None, None, None

    async def _fail_unstarted(self, row: Any, message: str) -> None:
        now = time.time()
        changed = await self.db.execute(
            "UPDATE so_jobs SET status = 'error', error = ?, finished = ?, updated = ?, blocked_reason = NULL"
            " WHERE id = ? AND status = 'queued'",
            (message, now, now, row["id"]),
        )
        if changed:
            self.hub.bus.async_fire(
                EVENT_JOB_FAILED, {"job_id": row["id"], "type": row["type"], "error": message, "attempts": 0}
            )
            job = await self.get(row["id"])
            if job is not None:
                self._resolve(job)
            self._sensors_dirty()

    async def _start(self, row: Any) -> bool:
        now = time.time()
        changed = await self.db.execute(
            "UPDATE so_jobs SET status = 'running', started = :now, attempts = attempts + 1, worker = :worker,"
            " blocked_reason = NULL, next_run_at = NULL, progress = NULL, speed = NULL, eta = NULL, message = NULL,"
            " pids = NULL, updated = :now WHERE id = :id AND status = 'queued'",
            {"id": row["id"], "now": now, "worker": self.worker_id},
        )
        if not changed:
            return False
        jtype = self._types[row["type"]]
        params = json.loads(row["params"])
        attempt = int(row["attempts"]) + 1
        ctx = JobContext(self, row["id"], row["type"], params, attempt)
        rj = _Running(
            job_id=row["id"],
            job_type=jtype,
            ctx=ctx,
            resource=row["resource"],
            heavy=bool(row["heavy"]),
            overrides=json.loads(row["guardrails"]) if row["guardrails"] else None,
            max_retries=int(row["max_retries"]),
        )
        self._running[rj.job_id] = rj
        rj.task = self.hub.async_create_background_task(self._run(rj), f"job-{rj.job_id}")
        return True

    # ============================================================================================
    # running
    # ============================================================================================
    async def _run(self, rj: _Running) -> None:
        jtype, ctx = rj.job_type, rj.ctx
        self.hub.bus.async_fire(
            EVENT_JOB_STARTED, {"job_id": rj.job_id, "type": jtype.name, "attempt": ctx.attempt, "params": ctx.params}
        )
        self._sensors_dirty()
        try:
            try:
                result = await jtype.run(ctx)
            except asyncio.CancelledError:
                rj.finishing = True
                await ctx._terminate_processes(self.terminate_timeout)
                if rj.cancel_requested:
                    await self._end_canceled(rj)
                else:
                    await self._end_interrupted(rj)
                return
            except JobError as err:
                rj.finishing = True
                await ctx._terminate_processes(self.terminate_timeout)
                await self._end_failed(rj, str(err), retry=err.retry)
                return
            except Exception as err:
                rj.finishing = True
                _LOGGER.exception("Job %s (%s) crashed", rj.job_id, jtype.name)
                await ctx._terminate_processes(self.terminate_timeout)
                await self._end_failed(rj, f"{type(err).__name__}: {err}", retry=True)
                return
            rj.finishing = True
            await ctx._terminate_processes(self.terminate_timeout)
            if result is None:
                result = {}
            elif not isinstance(result, dict):
                result = {"result": result}
            await self._end_done(rj, result)
        except asyncio.CancelledError:
            # Cancelled again while finishing (hub stopping hard): the journal still says running,
            # and the next start's recovery puts it back in the queue.
            raise
        finally:
            if rj.emit_handle is not None:
                rj.emit_handle.cancel()
            self._running.pop(rj.job_id, None)
            self._sensors_dirty()
            self.kick()

    async def _end_done(self, rj: _Running, result: dict[str, Any]) -> None:
        now = time.time()
        try:
            result_json = json.dumps(result)
        except (TypeError, ValueError) as err:
            await self._end_failed(rj, f"runner returned a result that is not JSON-serialisable: {err}", retry=False)
            return
        # RETURNING: the finished row for the waiters comes with the write (no second round trip).
        rows = await self.db.fetchall(
            "UPDATE so_jobs SET status = 'done', result = :result, error = NULL, progress = 100, eta = 0,"
            " finished = :now, updated = :now, worker = NULL, pids = NULL, blocked_reason = NULL, request = NULL"
            " WHERE id = :id RETURNING *",
            {"id": rj.job_id, "now": now, "result": result_json},
        )
        self.hub.bus.async_fire(
            EVENT_JOB_FINISHED,
            {
                "job_id": rj.job_id,
                "type": rj.job_type.name,
                "result": result,
                "attempt": rj.ctx.attempt,
                "duration": round(time.monotonic() - rj.started_monotonic, 3),
            },
        )
        if rows:
            self._resolve(row_to_dict(rows[0]))

    async def _end_failed(self, rj: _Running, message: str, *, retry: bool) -> None:
        await self._call_cleanup(rj.job_type, {"id": rj.job_id, "type": rj.job_type.name, "params": rj.ctx.params})
        now = time.time()
        attempt = rj.ctx.attempt
        if retry and attempt <= rj.max_retries:
            delay = backoff_delay(attempt, self.retry_backoff, self.retry_backoff_max)
            next_at = now + delay
            reason = f"retry {attempt}/{rj.max_retries} in {delay:g} s after error: {_short(message)}"
            self._timed = True
            await self.db.execute(
                "UPDATE so_jobs SET status = 'queued', error = :error, next_run_at = :next, blocked_reason = :reason,"
                " worker = NULL, pids = NULL, updated = :now WHERE id = :id",
                {"id": rj.job_id, "error": message, "next": next_at, "reason": reason, "now": now},
            )
            _LOGGER.warning(
                "Job %s (%s) failed (attempt %s), retrying in %g s: %s",
                rj.job_id,
                rj.job_type.name,
                attempt,
                delay,
                _short(message),
            )
            self.hub.bus.async_fire(
                EVENT_JOB_QUEUED,
                {
                    "job_id": rj.job_id,
                    "type": rj.job_type.name,
                    "retry": True,
                    "attempt": attempt,
                    "next_run_at": next_at,
                    "error": message,
                },
            )
            return
        await self.db.execute(
            "UPDATE so_jobs SET status = 'error', error = :error, finished = :now, updated = :now, worker = NULL,"
            " pids = NULL, blocked_reason = NULL, next_run_at = NULL, request = NULL WHERE id = :id",
            {"id": rj.job_id, "error": message, "now": now},
        )
        _LOGGER.error("Job %s (%s) failed after %s attempt(s): %s", rj.job_id, rj.job_type.name, attempt, message)
        self.hub.bus.async_fire(
            EVENT_JOB_FAILED,
            {
                "job_id": rj.job_id,
                "type": rj.job_type.name,
                "error": message,
                "attempts": attempt,
                "params": rj.ctx.params,
            },
        )
        await self._resolve_id(rj.job_id)

    async def _end_canceled(self, rj: _Running) -> None:
        await self._call_cleanup(rj.job_type, {"id": rj.job_id, "type": rj.job_type.name, "params": rj.ctx.params})
        now = time.time()
        await self.db.execute(
            "UPDATE so_jobs SET status = 'canceled', finished = :now, updated = :now, worker = NULL, pids = NULL,"
            " blocked_reason = NULL, request = NULL WHERE id = :id",
            {"id": rj.job_id, "now": now},
        )
        self.hub.bus.async_fire(EVENT_JOB_CANCELED, {"job_id": rj.job_id, "type": rj.job_type.name})
        await self._resolve_id(rj.job_id)

    async def _end_interrupted(self, rj: _Running) -> None:
        """Hub stopping: back to the queue (a user pause is kept), without using up an attempt."""
        await self._call_cleanup(rj.job_type, {"id": rj.job_id, "type": rj.job_type.name, "params": rj.ctx.params})
        now = time.time()
        status = STATUS_PAUSED if rj.user_paused else STATUS_QUEUED
        reason = _USER_PAUSED_REASON if rj.user_paused else "interrupted by shutdown; resumes at the next start"
        await self.db.execute(
            "UPDATE so_jobs SET status = :status, attempts = MAX(attempts - 1, 0), worker = NULL, pids = NULL,"
            " blocked_reason = :reason, updated = :now WHERE id = :id",
            {"id": rj.job_id, "status": status, "reason": reason, "now": now},
        )

    # -- pause -----------------------------------------------------------------------------------
    def _guard_reason(self, rj: _Running) -> str | None:
        if self.guardrails is None:
            return None
        return self.guardrails.reason_for(rj.heavy, rj.overrides)

    def _apply_pause(self, rj: _Running, *, persist: bool = True) -> None:
        """Make the process state match user_paused/guardrails, at once; journal it in the background."""
        rj.guard_reason = self._guard_reason(rj)
        should_pause = rj.user_paused or rj.guard_reason is not None
        was_paused = rj.ctx.paused
        rj.ctx._set_paused(should_pause)
        if should_pause != was_paused:
            if should_pause:
                self.hub.bus.async_fire(
                    EVENT_JOB_PAUSED,
                    {"job_id": rj.job_id, "type": rj.job_type.name, "reason": rj.blocked_reason},
                )
            else:
                self.hub.bus.async_fire(EVENT_JOB_RESUMED, {"job_id": rj.job_id, "type": rj.job_type.name})
        if persist:
            self.hub.async_create_task(self._persist_pause(rj))
        self._sensors_dirty()

    async def _persist_pause(self, rj: _Running) -> None:
        # Reads the state when it runs, so the last write always reflects the latest change.
        if self._running.get(rj.job_id) is not rj:
            return
        await self.db.execute(
            "UPDATE so_jobs SET status = :status, user_paused = :user, blocked_reason = :reason, updated = :now"
            " WHERE id = :id AND status IN ('running', 'paused')",
            {
                "id": rj.job_id,
                "status": STATUS_PAUSED if rj.ctx.paused else STATUS_RUNNING,
                "user": int(rj.user_paused),
                "reason": rj.blocked_reason,
                "now": time.time(),
            },
        )

    def _on_guard_change(self) -> None:
        """A guard engaged or released: pause or resume running jobs now, and reconsider the queue."""
        for rj in builtins.list(self._running.values()):
            self._apply_pause(rj)
        self.kick()

    # -- progress --------------------------------------------------------------------------------
    def _on_progress(self, ctx: JobContext) -> None:
        rj = self._running.get(ctx.job_id)
        if rj is None or rj.ctx is not ctx:
            return
        now = time.monotonic()
        if now - rj.last_emit >= self.progress_interval:
            self._emit_progress(rj)
        elif rj.emit_handle is None:
            rj.emit_handle = self.hub.loop.call_at(rj.last_emit + self.progress_interval, self._emit_progress, rj)

    def _emit_progress(self, rj: _Running) -> None:
        rj.emit_handle = None
        if self._running.get(rj.job_id) is not rj:
            return
        now = time.monotonic()
        rj.last_emit = now
        ctx = rj.ctx
        self.hub.bus.async_fire(
            EVENT_JOB_PROGRESS,
            {
                "job_id": rj.job_id,
                "type": rj.job_type.name,
                "percent": ctx.percent,
                "speed": ctx.speed,
                "eta": ctx.eta,
                "message": ctx.message,
            },
        )
        if now - rj.last_db_progress >= 1.0:
            rj.last_db_progress = now
            self.hub.async_create_task(self._persist_progress(rj))
        self._sensors_dirty()

    async def _persist_progress(self, rj: _Running) -> None:
        ctx = rj.ctx
        await self.db.execute(
            "UPDATE so_jobs SET progress = ?, speed = ?, eta = ?, message = ?, updated = ?"
            " WHERE id = ? AND status IN ('running', 'paused')",
            (ctx.percent, ctx.speed, ctx.eta, ctx.message, time.time(), rj.job_id),
        )

    def _on_worker_changed(self, ctx: JobContext) -> None:
        """Journal who executes this attempt (`label@host:pid`; plain `host:pid` when run here)."""
        worker = self.worker_id if ctx.worker is None else f"{ctx.worker}@{self.worker_id}"
        self.hub.async_create_task(
            self.db.execute(
                "UPDATE so_jobs SET worker = ? WHERE id = ? AND status IN ('running', 'paused')", (worker, ctx.job_id)
            )
        )
        self._sensors_dirty()

    def _on_processes_changed(self, ctx: JobContext) -> None:
        """Journal the pids so a restart after kill -9 can kill the orphans."""
        entries = []
        for proc in ctx.processes:
            try:
                entries.append([proc.pid, psutil.Process(proc.pid).create_time()])
            except psutil.Error:
                continue
        self.hub.async_create_task(
            self.db.execute(
                "UPDATE so_jobs SET pids = ? WHERE id = ? AND status IN ('running', 'paused')",
                (json.dumps(entries) if entries else None, ctx.job_id),
            )
        )

    # ============================================================================================
    # requests from the CLI and external status changes
    # ============================================================================================
    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self._reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Applying job requests failed")

    async def _reconcile(self) -> None:
        rows = await self.db.fetchall("SELECT id, request FROM so_jobs WHERE request IS NOT NULL")
        for row in rows:
            await self.db.execute("UPDATE so_jobs SET request = NULL WHERE id = ?", (row["id"],))
            action = {"cancel": self.cancel, "pause": self.pause, "resume": self.resume, "retry": self.retry}.get(
                row["request"]
            )
            if action is None:
                _LOGGER.warning("Job %s: unknown request %r ignored", row["id"], row["request"])
                continue
            try:
                await action(row["id"])
                _LOGGER.info("Job %s: applied %s request from the CLI", row["id"], row["request"])
            except ServiceError as err:
                _LOGGER.warning("Job %s: %s request not applied: %s", row["id"], row["request"], err)
        waited = [job_id for job_id in self._waiters if job_id not in self._running]
        if waited:
            done = await self.db.fetchall(
                f"SELECT * FROM so_jobs WHERE id IN ({', '.join('?' * len(waited))})"
                " AND status IN ('done', 'error', 'canceled')",
                waited,
            )
            for row in done:
                self._resolve(row_to_dict(row))

    # ============================================================================================
    # helpers
    # ============================================================================================
    async def _require(self, job_id: int) -> dict[str, Any]:
        try:
            job_id = int(job_id)
        except (TypeError, ValueError) as err:
            raise ServiceError(f"job id must be an integer, got {job_id!r}") from err
        job = await self.get(job_id)
        if job is None:
            raise ServiceError(f"no job with id {job_id}")
        return job

    async def _changed_meanwhile(self, seen: dict[str, Any]) -> None:
        """After a conditional write matched nothing: go round again only if the job really moved on.

        A row another live process runs (its `worker` is not this hub) cannot be changed from here.
        """
        current = await self._require(seen["id"])
        if current["id"] in self._running or current["status"] != seen["status"]:
            return
        raise ServiceError(
            f"job {seen['id']} is {current['status']} in another process ({current['worker']});"
            " use `streamops jobs` there or wait for it to finish"
        )

    async def _resolve_id(self, job_id: int) -> None:
        if job_id in self._waiters:
            job = await self.get(job_id)
            if job is not None:
                self._resolve(job)

    def _resolve(self, job: dict[str, Any]) -> None:
        for future in self._waiters.get(job["id"], []):
            if not future.done():
                future.set_result(job)

    async def _counts(self) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*) AS n, SUM(blocked_reason IS NOT NULL) AS blocked,"
            " SUM(next_run_at IS NOT NULL) AS timed FROM so_jobs WHERE status IN ('queued', 'paused')"
            " GROUP BY status"
        )
        counts = {"queued": 0, "paused": 0, "blocked": 0, "scheduled": 0}
        for row in rows:
            counts[row["status"]] = int(row["n"])
            if row["status"] == STATUS_QUEUED:
                counts["blocked"] = int(row["blocked"] or 0)
                counts["scheduled"] = int(row["timed"] or 0)
        return counts

    def _sensors_dirty(self) -> None:
        """Refresh the sensors at most every 0.5 s (coalesced; the last change always lands)."""
        if not self._started:
            return
        self._sensor_dirty = True
        if self._sensor_handle is not None or (self._sensor_task is not None and not self._sensor_task.done()):
            return
        delay = max(0.0, self._last_sensor + 0.5 - time.monotonic())
        self._sensor_handle = self.hub.loop.call_later(delay, self._refresh_sensors)

    def _refresh_sensors(self) -> None:
        self._sensor_handle = None
        self._sensor_dirty = False
        self._last_sensor = time.monotonic()
        self._sensor_task = self.hub.async_create_task(self._refresh_sensors_async())

    async def _refresh_sensors_async(self) -> None:
        try:
            counts = await self._counts()
        except Exception:
            _LOGGER.exception("Counting jobs failed")
            return
        self._publish_sensors(counts)
        if self._sensor_dirty:
            self._sensor_task = None
            self._sensor_dirty = False
            self._sensors_dirty()

    def _publish_sensors(self, counts: dict[str, int]) -> None:
        if self._stopping:
            return
        running = self.running_jobs()
        self.hub.states.async_set(
            SENSOR_QUEUED,
            counts["queued"],
            {
                "friendly_name": "Jobs queued",
                "unit_of_measurement": "jobs",
                "icon": "mdi:tray-full",
                "blocked": counts["blocked"],
                "scheduled": counts["scheduled"],
                "paused": counts["paused"],
            },
        )
        self.hub.states.async_set(
            SENSOR_RUNNING,
            len(running),
            {
                "friendly_name": "Jobs running",
                "unit_of_measurement": "jobs",
                "icon": "mdi:cog-play",
                "paused": sum(1 for job in running if job["paused"]),
                "jobs": running,
            },
        )
