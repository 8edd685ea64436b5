"""Job queue and guardrails: every heavy piece of work is a journaled, pausable, retryable job.

Other components register their job types at setup and submit jobs:

    from streamops.jobs import JOBS, JobType, JobContext, JobError

    async def remux(ctx: JobContext) -> dict:
        proc = await ctx.create_subprocess_exec("ffmpeg", ..., stderr=PIPE)   # attached: pausable, killed on cancel
        ...; ctx.progress(42.0, speed=2.1, eta=30)
        return {"output": "/p.mov"}

    queue = hub.data[JOBS]
    queue.register_type(JobType("media.remux", remux, resource="io", heavy=False, already_done=..., cleanup=...))
    job_id = await queue.submit("media.remux", {"source": ...}, dedupe_key=...)
    job = await queue.wait(job_id)        # the so_jobs row as a dict; job["result"] once done

Configuration (`jobs:`)::

    jobs:
      concurrency: {io: 2, cpu: 1, gpu: 1}      # running jobs per resource class
      max_retries: 2                            # default per job (submit(max_retries=) overrides)
      retry_backoff: 10                         # seconds; doubles each attempt ...
      retry_backoff_max: 600                    # ... up to this
      active_hours: {start: "01:00", end: "08:00"}   # optional: heavy jobs start only inside
      heavy: {media.remux: false}               # optional: override a type's heavy flag
      keep_days: 30                             # finished jobs older than this are purged at start
      guardrails: {enabled: true, pause_when_recording: true, gpu_percent: 40, cpu_percent: 70,
                   hysteresis: 10, sustain_seconds: 5}
"""

from __future__ import annotations

import logging
import time
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey
from .context import JobContext
from .guardrails import GUARDRAILS_SCHEMA, SWITCH_GUARDRAILS, Guardrails
from .model import (
    EVENT_JOB_CANCELED,
    EVENT_JOB_FAILED,
    EVENT_JOB_FINISHED,
    EVENT_JOB_PAUSED,
    EVENT_JOB_PROGRESS,
    EVENT_JOB_QUEUED,
    EVENT_JOB_RESUMED,
    EVENT_JOB_STARTED,
    FINAL_STATUSES,
    STATUSES,
    JobError,
    JobType,
)
from .queue import SENSOR_QUEUED, SENSOR_RUNNING, JobQueue
from .schedule import parse_hhmm

_LOGGER = logging.getLogger(__name__)

DOMAIN = "jobs"

JOBS: HubKey[JobQueue] = HubKey("jobs.queue")

_SLOTS = vol.All(vol.Coerce(int), vol.Range(min=0, max=64))
_SECONDS = vol.All(vol.Coerce(float), vol.Range(min=0))

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("concurrency", default={}): vol.All(
            {
                vol.Optional("io", default=2): _SLOTS,
                vol.Optional("cpu", default=1): _SLOTS,
                vol.Optional("gpu", default=1): _SLOTS,
                vol.Extra: _SLOTS,
            },
        ),
        vol.Optional("max_retries", default=2): vol.All(vol.Coerce(int), vol.Range(min=0, max=100)),
        vol.Optional("retry_backoff", default=10.0): _SECONDS,
        vol.Optional("retry_backoff_max", default=600.0): _SECONDS,
        vol.Optional("active_hours"): vol.Schema({vol.Required("start"): parse_hhmm, vol.Required("end"): parse_hhmm}),
        vol.Optional("heavy", default={}): {str: bool},
        vol.Optional("keep_days", default=30): vol.All(vol.Coerce(int), vol.Range(min=1)),
        vol.Optional("poll_interval", default=1.0): vol.All(vol.Coerce(float), vol.Range(min=0.05, max=60)),
        vol.Optional("progress_interval", default=0.25): vol.All(vol.Coerce(float), vol.Range(min=0.05, max=60)),
        vol.Optional("terminate_timeout", default=5.0): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=120)),
        vol.Optional("guardrails", default={}): GUARDRAILS_SCHEMA,
    }
)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from ..helpers.switch import async_register_switch
    from ..recorder import DATABASE
    from .services import async_register_services

    db = hub.data[DATABASE]
    queue = JobQueue(hub, db, config)
    queue.guardrails = Guardrails(hub, config["guardrails"], queue._on_guard_change)
    hub.data[JOBS] = queue
    async_register_services(hub, queue)
    async_register_switch(hub, SWITCH_GUARDRAILS, queue.guardrails.set_enabled)
    _add_http_routes(hub)

    cutoff = time.time() - config["keep_days"] * 86400
    purged = await db.execute(
        "DELETE FROM so_jobs WHERE status IN ('done', 'error', 'canceled') AND finished < ?", (cutoff,)
    )
    if purged:
        _LOGGER.info("Purged %s finished jobs older than %s days", purged, config["keep_days"])

    # Recovery and scheduling wait until every component has registered its job types.
    hub.async_on_start(queue.async_start)
    hub.async_on_stop(queue.async_stop)
    return True


def _add_http_routes(hub: Hub) -> None:
    try:
        from ..api import HTTP
    except ImportError:
        return
    server = hub.data.get(HTTP)
    if server is None:
        return
    from .http import add_routes

    add_routes(server.app, hub)
    queue = hub.data[JOBS]

    def _count(entity_id: str) -> int:
        state = hub.states.get(entity_id)
        try:
            return int(state.state) if state is not None else 0
        except ValueError:
            return 0

    server.metrics.gauge("streamops_jobs_queued", "Jobs waiting to run", lambda: _count(SENSOR_QUEUED))
    server.metrics.gauge("streamops_jobs_running", "Jobs running in this hub", lambda: len(queue.running_jobs()))
    server.metrics.gauge(
        "streamops_guardrails_engaged",
        "1 while a guardrail holds heavy jobs",
        lambda: int(bool(queue.guardrails and queue.guardrails.engaged_reasons)),
    )


__all__ = [
    "CONFIG_SCHEMA",
    "DOMAIN",
    "EVENT_JOB_CANCELED",
    "EVENT_JOB_FAILED",
    "EVENT_JOB_FINISHED",
    "EVENT_JOB_PAUSED",
    "EVENT_JOB_PROGRESS",
    "EVENT_JOB_QUEUED",
    "EVENT_JOB_RESUMED",
    "EVENT_JOB_STARTED",
    "FINAL_STATUSES",
    "JOBS",
    "SENSOR_QUEUED",
    "SENSOR_RUNNING",
    "STATUSES",
    "Guardrails",
    "JobContext",
    "JobError",
    "JobQueue",
    "JobType",
    "async_setup",
]
