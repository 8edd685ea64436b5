"""REST endpoints for jobs: `GET /api/jobs`, `GET /api/jobs/{id}`, `POST /api/jobs/{id}/{action}`.

The http component's middleware enforces the token on /api/*; these handlers only validate input.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from ..api.helpers import JsonError, json_response
from ..core import Hub, ServiceError
from . import model
from .queue import JobQueue

ACTIONS = ("cancel", "pause", "resume", "retry")


def _int_arg(request: web.Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise JsonError(400, f"query parameter {name} must be an integer, got {raw!r}", "invalid_format") from None
    if not low <= value <= high:
        raise JsonError(400, f"query parameter {name} must be between {low} and {high}", "invalid_format")
    return value


async def list_jobs(queue: JobQueue, request: web.Request) -> web.Response:
    """Filters: status (comma-separated), type, limit (1..1000, default 100), before_id (paging)."""
    statuses: list[str] | None = None
    if request.query.get("status"):
        statuses = [s.strip() for s in request.query["status"].split(",") if s.strip()]
        bad = [s for s in statuses if s not in model.STATUSES]
        if bad:
            raise JsonError(
                400, f"unknown status {', '.join(bad)} (one of: {', '.join(model.STATUSES)})", "invalid_format"
            )
    limit = _int_arg(request, "limit", 100, 1, 1000) or 100
    before_id = _int_arg(request, "before_id", None, 1, 2**62)
    jobs = await queue.list(statuses, limit, job_type=request.query.get("type") or None, before_id=before_id)
    running = {job["id"]: job for job in queue.running_jobs()}
    for job in jobs:
        live = running.get(job["id"])
        if live is not None:  # the live figures are fresher than the journal's (written ≤ 1/s)
            job.update(progress=live["percent"], speed=live["speed"], eta=live["eta"], message=live["message"])
    return json_response(jobs)


def _job_id(request: web.Request) -> int:
    raw = request.match_info["job_id"]
    try:
        return int(raw)
    except ValueError:
        raise JsonError(400, f"job id must be an integer, got {raw!r}", "invalid_format") from None


async def get_job(queue: JobQueue, request: web.Request) -> web.Response:
    job_id = _job_id(request)
    job = await queue.get(job_id)
    if job is None:
        raise JsonError(404, f"no job with id {job_id}", "not_found")
    return json_response(job)


async def job_action(queue: JobQueue, request: web.Request) -> web.Response:
    job_id = _job_id(request)
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise JsonError(404, f"unknown job action {action!r} (one of: {', '.join(ACTIONS)})", "not_found")
    if await queue.get(job_id) is None:
        raise JsonError(404, f"no job with id {job_id}", "not_found")
    method: Any = getattr(queue, action)
    try:
        job = await method(job_id)
    except ServiceError as err:
        raise JsonError(409, str(err), "invalid_state") from err
    return json_response(job)


def add_routes(app: web.Application, hub: Hub) -> None:
    """Register the job routes on `app` (the http component's app, or a test app)."""
    from . import JOBS

    queue = hub.data[JOBS]
    app.router.add_get("/api/jobs", partial(list_jobs, queue))
    app.router.add_get(r"/api/jobs/{job_id}", partial(get_job, queue))
    app.router.add_post(r"/api/jobs/{job_id}/{action}", partial(job_action, queue))
