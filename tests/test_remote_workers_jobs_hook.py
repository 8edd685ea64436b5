"""The job queue's extension point for remote execution: `JobContext.set_worker` and `split_worker`.

A runner that hands its job to another machine labels the attempt; the journal's worker column says
`label@host:pid` while it runs, the running-jobs sensor shows the label, and a hub killed while the
label is set still recovers the job as its own (the hub process owns the attempt).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from typing import Any

from streamops.core import Hub
from streamops.jobs import JobContext, JobType
from streamops.jobs.model import split_worker
from streamops.recorder import DATABASE
from tests.helpers_jobs import fast_config, setup_jobs
from tests.waiting import wait_until


def test_split_worker_forms() -> None:
    assert split_worker("box:42") == (None, "box", "42")
    assert split_worker("gpu-nas@box:42") == ("gpu-nas", "box", "42")
    assert split_worker("a@b@box:1") == ("a@b", "box", "1")


async def test_set_worker_journals_label_and_clears_at_finish(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    release = asyncio.Event()

    async def remote(ctx: JobContext) -> dict[str, Any]:
        ctx.set_worker("nas")
        await release.wait()
        return {"ok": True}

    queue.register_type(JobType("test.remote", remote, resource="io", heavy=False))
    job_id = await queue.submit("test.remote", {})
    expected = f"nas@{socket.gethostname()}:{os.getpid()}"
    db = db_hub.data[DATABASE]

    async def column() -> str | None:
        row = await db.fetchone("SELECT worker FROM so_jobs WHERE id = ?", (job_id,))
        return None if row is None else row["worker"]

    deadline = time.monotonic() + 5
    while await column() != expected:
        assert time.monotonic() < deadline, await column()
        await asyncio.sleep(0.02)
    await wait_until(lambda: any(j["worker"] == "nas" for j in queue.running_jobs()), 5)
    release.set()
    job = await queue.wait(job_id, timeout=5)
    assert job["status"] == "done" and job["worker"] is None


async def test_labelled_job_of_a_dead_hub_is_recovered(db_hub: Hub) -> None:
    """`nas@host:<dead pid>` on this host: the dead hub owned it, so recovery requeues it."""
    db = db_hub.data[DATABASE]
    now = time.time()
    job_id = await db.execute(
        "INSERT INTO so_jobs (type, status, params, attempts, max_retries, resource, heavy, worker, created,"
        " updated, started) VALUES ('test.again', 'running', ?, 1, 2, 'io', 0, ?, ?, ?, ?)",
        (json.dumps({}), f"nas@{socket.gethostname()}:999999", now, now, now),
    )
    ran: list[int] = []

    async def again(ctx: JobContext) -> dict[str, Any]:
        ran.append(ctx.attempt)
        return {}

    queue = await setup_jobs(db_hub, fast_config(), start=False)
    queue.register_type(JobType("test.again", again, resource="io", heavy=False))
    await queue.async_start()
    job = await queue.wait(job_id, timeout=5)
    assert job["status"] == "done" and ran == [1]
