"""Remote workers over NATS JetStream vs the local job queue, measured in the same run.

1. Dispatch: empty jobs (`test.noop`) — latency one at a time (submit → journaled done, p50/p95) and
   throughput (N submitted at once, jobs/s) through the local queue, then through a real nats-server
   and one `streamops worker` process.
2. Scaling: 40 CPU-bound jobs (`test.spin`, 0.25 s of pure-Python CPU each) on 1 vs 2 worker processes.

Run: .venv/bin/python benchmarks/bench_remote_workers.py [throughput_jobs]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamops.core import Hub
from tests.helpers_remote_jobs import job_types
from tests.helpers_remote_workers import WorkerProcess, queue_of, start_hub
from tests.nats_server import nats_server

FAST_JOBS = {"poll_interval": 0.1, "progress_interval": 0.05, "concurrency": {"cpu": 8}}


async def wait_workers(hub: Hub, names: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = [hub.states.get(f"sensor.worker_{n}") for n in names]
        if all(s is not None and s.state in ("idle", "busy") for s in states):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers {names} not available")
        await asyncio.sleep(0.05)


async def latency(hub: Hub, count: int) -> list[float]:
    queue = queue_of(hub)
    samples = []
    for n in range(count):
        started = time.perf_counter()
        job_id = await queue.submit("test.noop", {"n": n})
        job = await queue.wait(job_id, timeout=30)
        assert job["status"] == "done", job
        samples.append(time.perf_counter() - started)
    return samples


async def throughput(hub: Hub, job_type: str, count: int, params: dict[str, object]) -> float:
    queue = queue_of(hub)
    started = time.perf_counter()
    ids = [await queue.submit(job_type, {**params, "n": n}) for n in range(count)]
    for job_id in ids:
        job = await queue.wait(job_id, timeout=600)
        assert job["status"] == "done", job
    return time.perf_counter() - started


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        root = Path(tmp)
        # -- local queue baseline -------------------------------------------------------------------
        hub = await start_hub(root / "local", "nats://127.0.0.1:1", remote={"enabled": False}, jobs=FAST_JOBS)
        for job_type in job_types():
            queue_of(hub).register_type(job_type)
        await latency(hub, 5)  # warm-up
        local_lat = await latency(hub, 100)
        local_tp = count / await throughput(hub, "test.noop", count, {})
        await hub.async_stop()

        with nats_server(root / "nats") as nats:
            remote = {"job_types": ["test.noop", "test.spin"], "local_fallback": False, "max_in_flight": 64}
            hub = await start_hub(root / "remote", nats.url, remote=remote, jobs=FAST_JOBS)
            worker = WorkerProcess("bench1", nats.url, root, ["test.noop", "test.spin"], concurrency=8).start()
            try:
                await wait_workers(hub, ["bench1"])
                await latency(hub, 5)
                remote_lat = await latency(hub, 100)
                remote_tp = count / await throughput(hub, "test.noop", count, {})
            finally:
                worker.stop()
            print(f"Dispatch of empty jobs ({count} for throughput, 100 sequential for latency):")
            for label, lat, tp in (("local queue", local_lat, local_tp), ("JetStream", remote_lat, remote_tp)):
                print(f"  {label:<12}: p50 {pct(lat, 50):7.2f} ms  p95 {pct(lat, 95):7.2f} ms  {tp:8.1f} jobs/s")
            print(
                f"  ratio       : latency x{pct(remote_lat, 50) / pct(local_lat, 50):.2f}, "
                f"throughput x{remote_tp / local_tp:.2f} of local"
            )

            # -- scaling: 40 CPU-bound jobs on 1 vs 2 worker processes -----------------------------
            results = {}
            for n_workers in (1, 2):
                names = [f"spin{n_workers}_{i}" for i in range(n_workers)]
                procs = [WorkerProcess(name, nats.url, root, ["test.spin"], concurrency=1).start() for name in names]
                try:
                    await wait_workers(hub, names)
                    results[n_workers] = await throughput(hub, "test.spin", 40, {"seconds": 0.25})
                finally:
                    for proc in procs:
                        proc.stop()
                # let the stopped workers' heartbeats lapse so the next round starts clean
            print("40 CPU-bound jobs (0.25 s each, 10 s of CPU in all):")
            for n_workers, seconds in results.items():
                print(f"  {n_workers} worker process(es): {seconds:6.2f} s  ({40 / seconds:5.2f} jobs/s)")
            print(f"  speed-up with 2 workers: x{results[1] / results[2]:.2f}")
            await hub.async_stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
