"""The job queue on a real SQLite journal with real processes: results, priorities, limits, retries,
cancel, pause, progress, dependencies, dedupe, active hours, services and the HTTP API."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamops.core import Hub, ServiceError
from streamops.jobs import JOBS, JobContext, JobError, JobType
from streamops.jobs.http import add_routes
from streamops.recorder import DATABASE
from tests.helpers_api import api_hub, bearer
from tests.helpers_jobs import (
    EventLog,
    fast_config,
    gone,
    process_job_type,
    process_status,
    setup_jobs,
    wait_for,
    wait_job,
)


async def _noop(ctx: JobContext) -> dict[str, Any]:
    return {"echo": ctx.params, "attempt": ctx.attempt}


async def test_submit_wait_returns_result_and_journals_it(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    queue.register_type(JobType("test.noop", _noop, resource="io", heavy=False))
    log = EventLog(db_hub, "job_queued", "job_started", "job_finished")
    job_id = await queue.submit("test.noop", {"file": "/rec/a.mkv"}, priority=3)
    job = await queue.wait(job_id, timeout=5)
    assert job["status"] == "done"
    assert job["result"] == {"echo": {"file": "/rec/a.mkv"}, "attempt": 1}
    assert job["params"] == {"file": "/rec/a.mkv"}
    assert (job["priority"], job["resource"], job["heavy"], job["attempts"]) == (3, "io", False, 1)
    assert job["progress"] == 100 and job["worker"] is None
    assert job["created"] <= job["started"] <= job["finished"]
    await db_hub.async_block_till_done()
    assert [e["job_id"] for e in log.of("job_queued")] == [job_id]
    assert log.of("job_started")[0]["attempt"] == 1
    assert log.of("job_finished")[0]["result"]["echo"] == {"file": "/rec/a.mkv"}
    # The journal is real SQLite, readable by name.
    row = await db_hub.data[DATABASE].fetchone("SELECT status, result FROM so_jobs WHERE id = ?", (job_id,))
    assert row["status"] == "done" and json.loads(row["result"])["attempt"] == 1


async def test_unknown_type_and_bad_params_are_clear_errors(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    queue.register_type(JobType("test.noop", _noop))
    with pytest.raises(ServiceError, match=r"unknown job type 'media.nope' \(registered: test.noop\)"):
        await queue.submit("media.nope", {})
    with pytest.raises(ServiceError, match="not JSON-serialisable"):
        await queue.submit("test.noop", {"x": object()})
    with pytest.raises(ServiceError, match=r"invalid guardrails.*pause_if_gpu_pct_above"):
        await queue.submit("test.noop", {}, guardrails={"pause_if_gpu_pct_above": 400})
    with pytest.raises(ServiceError, match="depends_on: no job with id 999"):
        await queue.submit("test.noop", {}, depends_on=999)
    with pytest.raises(ServiceError, match="no job with id 12345"):
        await queue.cancel(12345)


async def test_priorities_run_highest_first_then_fifo(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(concurrency={"cpu": 1}))
    gate = asyncio.Event()
    order: list[str] = []

    async def run(ctx: JobContext) -> dict[str, Any]:
        order.append(ctx.params["name"])
        if ctx.params["name"] == "blocker":
            await gate.wait()
        return {}

    queue.register_type(JobType("test.ordered", run))
    first = await queue.submit("test.ordered", {"name": "blocker"})
    await wait_for(lambda: order == ["blocker"], what="blocker started")
    ids = [
        await queue.submit("test.ordered", {"name": name}, priority=prio)
        for name, prio in (("low-1", 0), ("high", 10), ("low-2", 0), ("mid", 5), ("negative", -1))
    ]
    gate.set()
    for job_id in [first, *ids]:
        assert (await queue.wait(job_id, timeout=5))["status"] == "done"
    assert order == ["blocker", "high", "mid", "low-1", "low-2", "negative"]


async def test_concurrency_limits_per_resource_class(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(concurrency={"io": 2, "cpu": 1, "gpu": 1}))
    running: dict[str, int] = {"io": 0, "cpu": 0, "gpu": 0}
    peak: dict[str, int] = {"io": 0, "cpu": 0, "gpu": 0}
    release = asyncio.Event()

    def make(resource: str) -> JobType:
        async def run(ctx: JobContext) -> dict[str, Any]:
            running[resource] += 1
            peak[resource] = max(peak[resource], running[resource])
            await release.wait()
            await asyncio.sleep(0.02)
            running[resource] -= 1
            return {}

        return JobType(f"test.{resource}", run, resource=resource)

    for resource in running:
        queue.register_type(make(resource))
    ids = [await queue.submit(f"test.{res}", {"i": i}) for i in range(4) for res in ("io", "cpu", "gpu")]
    await wait_for(lambda: running == {"io": 2, "cpu": 1, "gpu": 1}, what="slots filled")
    await asyncio.sleep(0.3)  # several scheduling passes: nothing more may start
    assert running == {"io": 2, "cpu": 1, "gpu": 1}
    await wait_for(
        lambda: (s := db_hub.states.get("sensor.jobs_running")) is not None and s.state == "4", what="sensor"
    )
    state = db_hub.states.get("sensor.jobs_running")
    assert state is not None and {job["resource"] for job in state.attributes["jobs"]} == {"io", "cpu", "gpu"}
    assert db_hub.states.get("sensor.jobs_queued").state == "8"
    release.set()
    for job_id in ids:
        assert (await queue.wait(job_id, timeout=10))["status"] == "done"
    assert peak == {"io": 2, "cpu": 1, "gpu": 1}


async def test_retries_back_off_exponentially_then_succeed(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(retry_backoff=0.2))
    starts: list[float] = []

    async def flaky(ctx: JobContext) -> dict[str, Any]:
        starts.append(time.monotonic())
        if ctx.attempt < 3:
            raise JobError(f"ffmpeg exited 1: attempt {ctx.attempt} failed")
        return {"ok": True}

    queue.register_type(JobType("test.flaky", flaky))
    log = EventLog(db_hub, "job_queued", "job_failed", "job_finished")
    job_id = await queue.submit("test.flaky", {}, max_retries=2)
    backing_off = await wait_job(queue, job_id, lambda j: j["status"] == "queued" and j["next_run_at"], what="backoff")
    assert backing_off["blocked_reason"].startswith("retry 1/2 in 0.2 s after error: ffmpeg exited 1")
    assert backing_off["error"] == "ffmpeg exited 1: attempt 1 failed"
    job = await queue.wait(job_id, timeout=5)
    assert job["status"] == "done" and job["attempts"] == 3 and job["result"] == {"ok": True}
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps  # 0.2 s, then doubled
    retries = [e for e in log.of("job_queued", job_id) if e.get("retry")]
    assert [e["attempt"] for e in retries] == [1, 2]
    assert log.of("job_failed") == [] and len(log.of("job_finished", job_id)) == 1


async def test_final_failure_and_non_retryable_errors(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(retry_backoff=0.05))
    calls: dict[str, int] = {"always": 0, "corrupt": 0, "crash": 0}
    cleanups: list[Any] = []

    async def always(ctx: JobContext) -> dict[str, Any]:
        calls["always"] += 1
        raise JobError("Invalid data found when processing input | moov atom not found")

    async def corrupt(ctx: JobContext) -> dict[str, Any]:
        calls["corrupt"] += 1
        raise JobError("input is a zero-byte file", retry=False)

    async def crash(ctx: JobContext) -> dict[str, Any]:
        calls["crash"] += 1
        raise KeyError("output")

    async def cleanup(params: dict[str, Any]) -> None:
        cleanups.append(params)

    queue.register_type(JobType("test.always", always, cleanup=cleanup))
    queue.register_type(JobType("test.corrupt", corrupt))
    queue.register_type(JobType("test.crash", crash))
    log = EventLog(db_hub, "job_failed")
    a = await queue.submit("test.always", {"n": 1}, max_retries=2)
    b = await queue.submit("test.corrupt", {}, max_retries=5)
    c = await queue.submit("test.crash", {}, max_retries=0)
    job_a, job_b, job_c = [await queue.wait(i, timeout=5) for i in (a, b, c)]
    assert job_a["status"] == "error" and job_a["attempts"] == 3 and calls["always"] == 3
    assert job_a["error"] == "Invalid data found when processing input | moov atom not found"
    assert cleanups == [{"n": 1}] * 3  # temporaries removed after every failed attempt
    assert job_b["status"] == "error" and calls["corrupt"] == 1 and job_b["error"] == "input is a zero-byte file"
    assert job_c["status"] == "error" and job_c["error"] == "KeyError: 'output'"
    await db_hub.async_block_till_done()
    assert sorted(e["job_id"] for e in log.of("job_failed")) == [a, b, c]
    # retry() starts a failed job over.
    calls["corrupt"] = 0
    await queue.retry(b)
    assert (await queue.wait(b, timeout=5))["attempts"] == 1 and calls["corrupt"] == 1


async def test_cancel_running_job_terminates_its_process(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    cleanups: list[dict[str, Any]] = []
    queue.register_type(process_job_type(pids=pids, cleanups=cleanups))
    log = EventLog(db_hub, "job_canceled", "job_failed", "job_finished")
    job_id = await queue.submit("test.process", {"out": "/x.mov"})
    await wait_for(lambda: pids, what="process started")
    pid = pids[0]
    await wait_for(lambda: process_status(pid) == psutil.STATUS_RUNNING, what="process running")
    job = await queue.cancel(job_id)
    assert job["status"] == "canceled" and job["finished"] is not None
    assert gone(pid), process_status(pid)
    assert cleanups == [{"out": "/x.mov"}]
    assert (await queue.wait(job_id, timeout=1))["status"] == "canceled"
    await db_hub.async_block_till_done()
    assert len(log.of("job_canceled", job_id)) == 1 and not log.of("job_failed") and not log.of("job_finished")
    with pytest.raises(ServiceError, match="already canceled"):
        await queue.cancel(job_id)


async def test_cancel_kills_a_process_that_ignores_sigterm(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(terminate_timeout=0.3))
    pids: list[int] = []
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(0.05)",
    ]
    queue.register_type(process_job_type(argv=stubborn, pids=pids))
    job_id = await queue.submit("test.process", {})
    await wait_for(lambda: pids, what="process started")
    await asyncio.sleep(0.2)  # let it install the SIGTERM handler
    await queue.cancel(job_id)
    assert gone(pids[0])


async def test_cancel_queued_job_and_waiters_wake(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(concurrency={"cpu": 1}))
    gate = asyncio.Event()

    async def blocked(ctx: JobContext) -> dict[str, Any]:
        await gate.wait()
        return {}

    queue.register_type(JobType("test.blocked", blocked))
    first = await queue.submit("test.blocked", {})
    second = await queue.submit("test.blocked", {})
    waiter = asyncio.ensure_future(queue.wait(second, timeout=5))
    await asyncio.sleep(0.05)
    assert (await queue.cancel(second))["status"] == "canceled"
    assert (await waiter)["status"] == "canceled"
    gate.set()
    assert (await queue.wait(first, timeout=5))["status"] == "done"
    with pytest.raises(TimeoutError):
        third = await queue.submit("test.blocked", {})
        gate.clear()
        await queue.wait(third, timeout=0.2)


async def test_user_pause_stops_the_process_and_resume_continues(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    queue.register_type(process_job_type(pids=pids, heavy=False))
    log = EventLog(db_hub, "job_paused", "job_resumed")
    job_id = await queue.submit("test.process", {"seconds": 0.6})
    await wait_for(lambda: pids, what="process started")
    pid = pids[0]
    await queue.pause(job_id)
    took = await wait_for(lambda: process_status(pid) == psutil.STATUS_STOPPED, timeout=1, what="stopped")
    assert took < 1
    job = await wait_job(queue, job_id, lambda j: j["status"] == "paused", what="journal says paused")
    assert job["blocked_reason"] == "paused by user" and job["user_paused"]
    cpu_before = psutil.Process(pid).cpu_times().user
    await asyncio.sleep(0.3)
    assert psutil.Process(pid).cpu_times().user - cpu_before < 0.05  # really no work while paused
    await queue.resume(job_id)
    await wait_for(lambda: process_status(pid) == psutil.STATUS_RUNNING, timeout=1, what="running again")
    job = await queue.wait(job_id, timeout=5)
    assert job["status"] == "done" and job["result"]["paused_seconds"] >= 0.3
    await db_hub.async_block_till_done()
    assert len(log.of("job_paused", job_id)) == 1 and len(log.of("job_resumed", job_id)) == 1


async def test_pure_python_runner_blocks_in_wait_unpaused(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    chunks = 0

    async def chunked(ctx: JobContext) -> dict[str, Any]:
        nonlocal chunks
        while chunks < 40:
            await ctx.wait_unpaused()
            chunks += 1
            ctx.progress(chunks * 2.5)
            await asyncio.sleep(0.01)
        return {"chunks": chunks}

    queue.register_type(JobType("test.chunked", chunked, heavy=False))
    job_id = await queue.submit("test.chunked", {})
    await wait_for(lambda: chunks >= 3, what="some chunks")
    await queue.pause(job_id)
    await asyncio.sleep(0.05)
    frozen = chunks
    await asyncio.sleep(0.3)
    assert chunks == frozen
    await queue.resume(job_id)
    assert (await queue.wait(job_id, timeout=5))["result"] == {"chunks": 40}


async def test_pause_and_resume_a_queued_job(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    queue.register_type(JobType("test.noop", _noop))
    gate = asyncio.Event()

    async def blocked(ctx: JobContext) -> dict[str, Any]:
        await gate.wait()
        return {}

    queue.register_type(JobType("test.blocked", blocked))
    blocker = await queue.submit("test.blocked", {})
    job_id = await queue.submit("test.noop", {})
    held = await queue.pause(job_id)
    assert held["status"] == "paused" and held["blocked_reason"] == "paused by user"
    gate.set()
    await queue.wait(blocker, timeout=5)
    await asyncio.sleep(0.3)
    assert (await queue.get(job_id))["status"] == "paused"
    assert (await queue.resume(job_id))["status"] == "queued"
    assert (await queue.wait(job_id, timeout=5))["status"] == "done"


async def test_progress_events_are_rate_limited_and_reach_sensor_and_journal(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(progress_interval=0.25))
    queue.register_type(JobType("test.busy", _busy_progress, heavy=False))
    log = EventLog(db_hub, "job_progress")
    job_id = await queue.submit("test.busy", {})
    await wait_for(lambda: len(log.of("job_progress")) >= 3, what="progress events")
    job = await wait_job(queue, job_id, lambda j: j["progress"] is not None, what="progress journaled")
    assert 0 < job["progress"] < 100 and job["speed"] == 2.5 and job["eta"] is not None

    def sensor_shows_progress() -> bool:
        state = db_hub.states.get("sensor.jobs_running")
        return (
            state is not None and bool(state.attributes["jobs"]) and state.attributes["jobs"][0]["percent"] is not None
        )

    await wait_for(sensor_shows_progress, what="sensor.jobs_running shows the percent")
    running = db_hub.states.get("sensor.jobs_running")
    assert running.attributes["jobs"][0]["speed"] == 2.5
    done = await queue.wait(job_id, timeout=5)
    assert done["progress"] == 100
    events = log.of("job_progress", job_id)
    # ~1.2 s of progress calls every millisecond: at most 4 events a second (+1 for the first).
    assert 3 <= len(events) <= 7, len(events)
    assert events[-1]["message"].startswith("frame")


async def _busy_progress(ctx: JobContext) -> dict[str, Any]:
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < 1.2:
        ctx.progress(100 * elapsed / 1.2, speed=2.5, eta=1.2 - elapsed, message=f"frame {int(elapsed * 60)}")
        await asyncio.sleep(0.001)
    return {}


async def test_dedupe_key_returns_the_active_job(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    gate = asyncio.Event()

    async def blocked(ctx: JobContext) -> dict[str, Any]:
        await gate.wait()
        return {}

    queue.register_type(JobType("test.blocked", blocked))
    first = await queue.submit("test.blocked", {}, dedupe_key="remux:/rec/a.mkv")
    again = await queue.submit("test.blocked", {}, dedupe_key="remux:/rec/a.mkv")
    other = await queue.submit("test.blocked", {}, dedupe_key="remux:/rec/b.mkv")
    assert again == first and other != first
    gate.set()
    await queue.wait(first, timeout=5)
    later = await queue.submit("test.blocked", {}, dedupe_key="remux:/rec/a.mkv")
    assert later not in (first, other)  # a finished job does not block a new one


async def test_dependencies_wait_and_failures_propagate(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(retry_backoff=0.05))
    gate = asyncio.Event()

    async def blocked(ctx: JobContext) -> dict[str, Any]:
        await gate.wait()
        if ctx.params.get("fail"):
            raise JobError("boom", retry=False)
        return {"output": "/p.mov"}

    queue.register_type(JobType("test.blocked", blocked))
    queue.register_type(JobType("test.noop", _noop))
    parent = await queue.submit("test.blocked", {})
    child = await queue.submit("test.noop", {}, depends_on=parent)
    job = await wait_job(queue, child, lambda j: j["blocked_reason"], what="child blocked")
    assert job["status"] == "queued" and job["blocked_reason"] == f"waiting for job {parent} to finish"
    gate.set()
    assert (await queue.wait(child, timeout=5))["status"] == "done"

    bad_parent = await queue.submit("test.blocked", {"fail": True})
    orphan = await queue.submit("test.noop", {}, depends_on=bad_parent)
    job = await queue.wait(orphan, timeout=5)
    assert job["status"] == "error" and job["error"] == f"dependency job {bad_parent} ended with status error"


async def test_active_hours_hold_heavy_jobs_with_reason_and_time(db_hub: Hub) -> None:
    db_hub.config.time_zone = "UTC"
    utc_now = datetime.datetime.now(datetime.UTC)
    start = f"{(utc_now.hour + 2) % 24:02d}:00"
    end = f"{(utc_now.hour + 3) % 24:02d}:00"
    queue = await setup_jobs(db_hub, fast_config(active_hours={"start": start, "end": end}))
    queue.register_type(JobType("test.heavy", _noop, heavy=True))
    queue.register_type(JobType("test.light", _noop, heavy=False))
    heavy = await queue.submit("test.heavy", {})
    light = await queue.submit("test.light", {})
    assert (await queue.wait(light, timeout=5))["status"] == "done"
    job = await wait_job(queue, heavy, lambda j: j["blocked_reason"], what="heavy held")
    assert job["status"] == "queued" and job["blocked_reason"] == f"outside active hours {start}–{end}"
    expected = utc_now.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=2)
    assert abs(job["next_run_at"] - expected.timestamp()) < 1


async def test_jobs_services_return_the_job(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    queue.register_type(process_job_type(pids=pids, heavy=False))
    job_id = await queue.submit("test.process", {})
    await wait_for(lambda: pids, what="started")
    paused = await db_hub.services.async_call("jobs", "pause", {"job_id": job_id}, return_response=True)
    assert paused is not None and paused["job"]["status"] == "paused"
    await wait_for(lambda: process_status(pids[0]) == psutil.STATUS_STOPPED, timeout=1, what="stopped")
    plan = await db_hub.services.async_call("jobs", "cancel", {"job_id": job_id}, dry_run=True)
    assert plan == {"dry_run": True, "action": "jobs.cancel", "job_id": job_id}
    assert process_status(pids[0]) == psutil.STATUS_STOPPED  # a dry run touches nothing
    canceled = await db_hub.services.async_call("jobs", "cancel", {"job_id": str(job_id)}, return_response=True)
    assert canceled["job"]["status"] == "canceled" and gone(pids[0])
    with pytest.raises(ServiceError, match="job_id"):
        await db_hub.services.async_call("jobs", "retry", {})
    retried = await db_hub.services.async_call("jobs", "retry", {"job_id": job_id}, return_response=True)
    assert retried["job"]["status"] == "queued"
    await queue.cancel(job_id)


async def test_http_routes_list_get_and_actions(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    queue.register_type(JobType("test.noop", _noop))
    pids: list[int] = []
    queue.register_type(process_job_type(pids=pids, heavy=False))
    done_id = await queue.submit("test.noop", {"a": 1})
    await queue.wait(done_id, timeout=5)
    run_id = await queue.submit("test.process", {})
    await wait_for(lambda: pids, what="started")
    app = web.Application()
    add_routes(app, db_hub)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/api/jobs")
        assert resp.status == 200
        assert [j["id"] for j in await resp.json()] == [run_id, done_id]
        resp = await client.get("/api/jobs", params={"status": "done", "type": "test.noop"})
        assert [j["id"] for j in await resp.json()] == [done_id]
        resp = await client.get("/api/jobs", params={"status": "finished"})
        assert resp.status == 400 and "unknown status finished" in (await resp.json())["message"]
        resp = await client.get("/api/jobs", params={"limit": "lots"})
        assert resp.status == 400 and "limit must be an integer" in (await resp.json())["message"]
        resp = await client.get(f"/api/jobs/{done_id}")
        assert resp.status == 200 and (await resp.json())["result"]["echo"] == {"a": 1}
        resp = await client.get("/api/jobs/9999")
        assert resp.status == 404 and (await resp.json())["message"] == "no job with id 9999"
        resp = await client.get("/api/jobs/abc")
        assert resp.status == 400
        resp = await client.post(f"/api/jobs/{run_id}/pause")
        assert resp.status == 200 and (await resp.json())["status"] == "paused"
        await wait_for(lambda: process_status(pids[0]) == psutil.STATUS_STOPPED, timeout=1, what="stopped")
        resp = await client.post(f"/api/jobs/{run_id}/resume")
        assert resp.status == 200 and (await resp.json())["status"] == "running"
        resp = await client.post(f"/api/jobs/{run_id}/explode")
        assert resp.status == 404
        resp = await client.post(f"/api/jobs/{done_id}/cancel")
        assert resp.status == 409 and "already done" in (await resp.json())["message"]
        resp = await client.post(f"/api/jobs/{run_id}/cancel")
        assert resp.status == 200 and (await resp.json())["status"] == "canceled"
    assert gone(pids[0])


async def test_stop_requeues_running_jobs_without_using_an_attempt(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    cleanups: list[dict[str, Any]] = []
    queue.register_type(process_job_type(pids=pids, cleanups=cleanups, heavy=False))
    job_id = await queue.submit("test.process", {"tmp": "/t"})
    await wait_for(lambda: pids, what="started")
    await queue.async_stop()
    assert gone(pids[0]) and cleanups == [{"tmp": "/t"}]
    job = await queue.get(job_id)
    assert job["status"] == "queued" and job["attempts"] == 0 and job["worker"] is None
    assert job["blocked_reason"] == "interrupted by shutdown; resumes at the next start"


async def test_routes_on_the_real_http_component_with_token_and_metrics(tmp_path: Path) -> None:
    async def setup(hub: Hub) -> None:
        queue = await setup_jobs(hub, fast_config(), start=False)
        queue.register_type(JobType("test.noop", _noop))

    async with api_hub(tmp_path, setup=setup) as api:
        queue = api.hub.data[JOBS]
        job_id = await queue.submit("test.noop", {"n": 7})
        await queue.wait(job_id, timeout=5)
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(f"{api.base_url}/api/jobs") as resp:
                assert resp.status == 401
        async with aiohttp.ClientSession(headers=bearer(api.token)) as session:
            async with session.get(f"{api.base_url}/api/jobs/{job_id}") as resp:
                assert resp.status == 200 and (await resp.json())["result"]["echo"] == {"n": 7}
            async with session.post(f"{api.base_url}/api/jobs/{job_id}/retry") as resp:
                assert resp.status == 409 and "only failed, canceled" in (await resp.json())["message"]
            async with session.get(f"{api.base_url}/metrics") as resp:
                text = await resp.text()
        assert "streamops_jobs_running 0" in text and "streamops_guardrails_engaged 0" in text


async def test_retry_runs_a_backing_off_job_now(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(retry_backoff=600, retry_backoff_max=3600))
    attempts: list[int] = []

    async def once_failing(ctx: JobContext) -> dict[str, Any]:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise JobError("disk busy")
        return {}

    queue.register_type(JobType("test.once", once_failing))
    job_id = await queue.submit("test.once", {}, max_retries=1)
    job = await wait_job(queue, job_id, lambda j: j["next_run_at"] is not None, what="backing off")
    assert job["next_run_at"] - time.time() > 500 and job["blocked_reason"].startswith("retry 1/1 in 600 s")
    await queue.retry(job_id)
    assert (await queue.wait(job_id, timeout=5))["status"] == "done" and attempts == [1, 2]
    assert db_hub.states.get("sensor.jobs_queued") is not None


async def test_jobs_another_live_process_runs_cannot_be_changed_here(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    queue.register_type(JobType("test.noop", _noop))
    db = db_hub.data[DATABASE]
    now = time.time()
    foreign = await db.execute(
        "INSERT INTO so_jobs (type, status, worker, created, updated)"
        " VALUES ('test.noop', 'running', 'elsewhere:1', ?, ?)",
        (now, now),
    )
    held = await db.execute(
        "INSERT INTO so_jobs (type, status, worker, user_paused, created, updated)"
        " VALUES ('test.noop', 'paused', 'elsewhere:1', 1, ?, ?)",
        (now, now),
    )
    with pytest.raises(ServiceError, match=r"is running in another process \(elsewhere:1\)"):
        await queue.cancel(foreign)
    with pytest.raises(ServiceError, match="in another process"):
        await queue.resume(held)
