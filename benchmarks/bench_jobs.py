"""Job queue overhead: 1,000 empty jobs submitted and run to `done` vs calling the runner directly.

Every job is journaled in SQLite (insert, start, finish: three committed writes, plus a scheduling
read), fires its events and updates the sensors, so the ratio is large by nature: the figure that
matters is the per-job overhead in milliseconds next to the seconds-to-minutes a media job takes.

Cases (same run, same machine):
- baseline: `await run(ctx)` 1,000 times;
- journal floor: the three committed writes a durable job needs at least (insert, mark running,
  mark done) through the same Database, 1,000 times — what any SQLite-journaled queue pays;
- sequential: submit one, wait for it, next (latency of one job through the queue);
- batch cpu=1 / cpu=4: submit 1,000, then wait for all (throughput with 1 and 4 slots).

Run: .venv/bin/python benchmarks/bench_jobs.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from streamops.core import Hub
from streamops.jobs import CONFIG_SCHEMA, JOBS, JobContext, JobQueue, JobType
from streamops.jobs import async_setup as jobs_setup
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import async_setup as recorder_setup


async def empty(ctx: JobContext) -> dict[str, Any]:
    return {}


async def make_queue(tmp: str, slots: int) -> tuple[Hub, JobQueue]:
    hub = Hub(Path(tmp) / "config", Path(tmp) / "data")
    await recorder_setup(hub, RECORDER_SCHEMA({}))
    await jobs_setup(hub, CONFIG_SCHEMA({"concurrency": {"cpu": slots}}))
    queue = hub.data[JOBS]
    queue.register_type(JobType("bench.empty", empty))
    await hub.async_start()
    return hub, queue


async def bench_direct(n: int, queue: JobQueue) -> float:
    ctx = JobContext(queue, 0, "bench.empty", {}, 1)
    start = time.perf_counter()
    for _ in range(n):
        await empty(ctx)
    return time.perf_counter() - start


async def bench_journal_floor(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        hub, queue = await make_queue(tmp, 1)
        db = queue.db
        start = time.perf_counter()
        for i in range(n):
            now = time.time()
            job_id = await db.execute(
                "INSERT INTO so_jobs (type, params, created, updated) VALUES ('bench.floor', ?, ?, ?)",
                (f'{{"i": {i}}}', now, now),
            )
            await db.execute("UPDATE so_jobs SET status = 'running', started = ? WHERE id = ?", (now, job_id))
            await db.execute("UPDATE so_jobs SET status = 'done', result = '{}' WHERE id = ?", (job_id,))
        elapsed = time.perf_counter() - start
        await hub.async_stop()
        return elapsed


async def bench_sequential(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        hub, queue = await make_queue(tmp, 1)
        start = time.perf_counter()
        for i in range(n):
            job = await queue.wait(await queue.submit("bench.empty", {"i": i}))
            assert job["status"] == "done"
        elapsed = time.perf_counter() - start
        await hub.async_stop()
        return elapsed


async def bench_batch(n: int, slots: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        hub, queue = await make_queue(tmp, slots)
        start = time.perf_counter()
        ids = [await queue.submit("bench.empty", {"i": i}) for i in range(n)]
        submitted = time.perf_counter() - start
        jobs = await asyncio.gather(*(queue.wait(job_id, timeout=600) for job_id in ids))
        elapsed = time.perf_counter() - start
        assert all(job["status"] == "done" for job in jobs)
        await hub.async_stop()
        return submitted, elapsed


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        hub, queue = await make_queue(tmp, 1)
        direct = await bench_direct(n, queue)
        await hub.async_stop()
    floor = await bench_journal_floor(n)
    sequential = await bench_sequential(n)
    print(f"baseline: {n:,} direct runner calls: {direct * 1e3:.2f} ms ({direct / n * 1e6:.2f} us each)")
    print(f"journal floor: {n:,} x (insert, update, update) committed: {floor:.3f} s ({floor / n * 1e3:.2f} ms each)")
    print(
        f"sequential: {n:,} x (submit, wait): {sequential:.3f} s -> {sequential / n * 1e3:.2f} ms per job,"
        f" ratio {sequential / direct:,.0f}x the direct calls, {sequential / floor:.2f}x the journal floor"
    )
    for slots in (1, 4):
        submitted, total = await bench_batch(n, slots)
        print(
            f"batch cpu={slots}: submit {n:,} in {submitted:.3f} s, all done after {total:.3f} s"
            f" -> {total / n * 1e3:.2f} ms per job, {n / total:,.0f} jobs/s, ratio {total / direct:,.0f}x"
            f" the direct calls, {total / floor:.2f}x the journal floor"
        )


if __name__ == "__main__":
    asyncio.run(main())
