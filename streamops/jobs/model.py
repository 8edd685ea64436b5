"""What a job is: its type (the runner and its traits), its states, its error, and its row as a dict."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import ServiceError

if TYPE_CHECKING:
    from .context import JobContext

STATUS_QUEUED = "queued"
STATUS_RUNNING = "running"
STATUS_PAUSED = "paused"
STATUS_DONE = "done"
STATUS_ERROR = "error"
STATUS_CANCELED = "canceled"

STATUSES = (STATUS_QUEUED, STATUS_RUNNING, STATUS_PAUSED, STATUS_DONE, STATUS_ERROR, STATUS_CANCELED)
FINAL_STATUSES = frozenset({STATUS_DONE, STATUS_ERROR, STATUS_CANCELED})
ACTIVE_STATUSES = frozenset({STATUS_QUEUED, STATUS_RUNNING, STATUS_PAUSED})

RESOURCES = ("io", "cpu", "gpu")

EVENT_JOB_QUEUED = "job_queued"
EVENT_JOB_STARTED = "job_started"
EVENT_JOB_PROGRESS = "job_progress"
EVENT_JOB_FINISHED = "job_finished"
EVENT_JOB_FAILED = "job_failed"
EVENT_JOB_CANCELED = "job_canceled"
EVENT_JOB_PAUSED = "job_paused"
EVENT_JOB_RESUMED = "job_resumed"

Runner = Callable[["JobContext"], Awaitable[dict[str, Any]]]
AlreadyDone = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
Cleanup = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class JobType:
    """A kind of work the queue can run, registered once by the component that knows how to do it.

    `already_done` and `cleanup` make a type crash-safe: after a kill -9 the queue removes the
    orphaned temporaries (`cleanup`) and asks whether the outputs already exist and verify
    (`already_done`), so a finished output is never produced twice. `cleanup` also runs after a
    cancel or a failed attempt.
    """

    name: str
    run: Runner
    resource: str = "cpu"
    heavy: bool = True
    already_done: AlreadyDone | None = None
    cleanup: Cleanup | None = None


class JobError(ServiceError):
    """Raised by a runner with a message a person can act on (e.g. ffmpeg's last stderr lines).

    `retry=False` says retrying cannot help (corrupt input, path outside the drives): the job fails
    at once instead of backing off and trying again.
    """

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def split_worker(worker: str) -> tuple[str | None, str, str]:
    """`so_jobs.worker` → (label, host, pid).

    A local job's worker is the hub's `host:pid`. A runner that hands the work to someone else (a
    remote worker over NATS) labels it with `JobContext.set_worker`, stored as `label@host:pid`:
    the hub process `host:pid` still owns the attempt (its recovery and the CLI treat it as theirs),
    and the label says who actually executes it.
    """
    label, sep, owner = worker.rpartition("@")
    host, _, pid = owner.rpartition(":")
    return (label if sep else None), host, pid


_JSON_COLUMNS = ("params", "result", "guardrails", "pids")


def row_to_dict(row: sqlite3.Row | Mapping[str, Any]) -> dict[str, Any]:
    """A so_jobs row as the dict the API, services and CLI show (JSON columns decoded)."""
    job = dict(row)
    for key in _JSON_COLUMNS:
        value = job.get(key)
        if isinstance(value, str):
            try:
                job[key] = json.loads(value)
            except ValueError:
                pass
    if "heavy" in job:
        job["heavy"] = bool(job["heavy"])
    if "user_paused" in job:
        job["user_paused"] = bool(job["user_paused"])
    return job
