"""Recorder throughput and cost to the event loop.

Measured in the same run:
- batched history: N state changes recorded through the real path (bus → queue → one transaction
  per batch, executemany), rows/s from the first `async_set` until the flush has committed;
- baseline: the same rows written one INSERT + COMMIT each (`Database.execute`), rows/s;
- the recorder's listener cost per event: a bus with the recorder's MATCH_ALL listener vs the same
  bus with a no-op MATCH_ALL listener (events of a non-excluded type, queue large enough to keep all);
- event-loop lag while a large batch commits: the worst lateness of a 1 ms ticker.
Run: .venv/bin/python benchmarks/bench_recorder.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from streamops.core import MATCH_ALL, Hub
from streamops.recorder import CONFIG_SCHEMA, Recorder, async_open_database
from streamops.recorder.history import INSERT_STATE
from streamops.recorder.serialize import dumps

ATTRS = {"friendly_name": "CPU", "unit_of_measurement": "%", "device_class": "power_factor"}


async def _recorder(tmp: str, max_queue: int) -> tuple[Hub, Recorder]:
    hub = Hub(Path(tmp) / "config", Path(tmp) / "data")
    config = CONFIG_SCHEMA({"commit_interval": 60})
    db = await async_open_database(hub, config)
    recorder = Recorder(hub, db, config, max_queue=max_queue, batch_size=max_queue)
    await recorder.async_start()
    hub.async_on_stop(db.close)
    hub.async_on_stop(recorder.async_stop)
    return hub, recorder


async def bench_batched(n: int) -> tuple[float, float]:
    """(rows/s from first async_set to committed, rows/s of the flush alone: prepare + write)."""
    with tempfile.TemporaryDirectory() as tmp:
        hub, recorder = await _recorder(tmp, max_queue=n + 10)
        set_state = hub.states.async_set
        start = time.perf_counter()
        for i in range(n):
            set_state(f"sensor.e{i % 100}", i, ATTRS)
        await hub.async_block_till_done()
        queued = time.perf_counter()
        await recorder.flush()
        done = time.perf_counter()
        assert recorder.committed_states == n, recorder.committed_states
        await hub.async_stop()
        return n / (done - start), n / (done - queued)


async def bench_single_commit(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        hub, recorder = await _recorder(tmp, max_queue=10)
        attrs = dumps(ATTRS)
        start = time.perf_counter()
        for i in range(n):
            now = time.time()
            await recorder.db.execute(INSERT_STATE, (i + 1, f"sensor.e{i % 100}", str(i), attrs, now, now, None))
        elapsed = time.perf_counter() - start
        await hub.async_stop()
        return n / elapsed


async def bench_listener(n: int) -> tuple[float, float]:
    """Per-event cost (µs) of firing + draining with the recorder listening vs a no-op listener (best of 3)."""
    noops, withs = [], []
    for _ in range(3):
        noop, with_recorder = await _listener_once(n)
        noops.append(noop)
        withs.append(with_recorder)
    return min(noops), min(withs)


async def _listener_once(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(Path(tmp) / "c", Path(tmp) / "d")
        hub.bus.async_listen(MATCH_ALL, lambda event: None)
        data = {"n": 1}
        start = time.perf_counter()
        for _ in range(n):
            hub.bus.async_fire("obs_marker", data)
        await hub.async_block_till_done(timeout=600)
        noop = (time.perf_counter() - start) / n * 1e6
        await hub.async_stop()
    with tempfile.TemporaryDirectory() as tmp:
        hub, recorder = await _recorder(tmp, max_queue=n + 10)
        start = time.perf_counter()
        for _ in range(n):
            hub.bus.async_fire("obs_marker", data)
        await hub.async_block_till_done(timeout=600)
        with_recorder = (time.perf_counter() - start) / n * 1e6
        assert recorder.queued == n
        await hub.async_stop()
    return noop, with_recorder


async def _ticker_lag(seconds: float) -> float:
    """Worst lateness (ms) of a 1 ms ticker on an otherwise idle loop: the machine's own noise."""
    worst = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - before - 0.001)
    return worst * 1000


async def bench_loop_lag(n: int) -> tuple[float, float]:
    """Worst ticker lateness (ms) while a batch of n queued states is prepared and committed."""
    with tempfile.TemporaryDirectory() as tmp:
        hub, recorder = await _recorder(tmp, max_queue=n + 10)
        for i in range(n):
            hub.states.async_set(f"sensor.e{i % 100}", i, ATTRS)
        await hub.async_block_till_done()
        worst = 0.0
        done = False

        async def ticker() -> None:
            nonlocal worst
            while not done:
                before = time.perf_counter()
                await asyncio.sleep(0.001)
                worst = max(worst, time.perf_counter() - before - 0.001)

        task = asyncio.create_task(ticker())
        start = time.perf_counter()
        await recorder.flush()
        commit = time.perf_counter() - start
        done = True
        await task
        await hub.async_stop()
        return worst * 1000, commit * 1000


async def main(n: int) -> None:
    baseline_n = max(1000, n // 20)
    end_to_end, flush_only = await bench_batched(n)
    single = await bench_single_commit(baseline_n)
    print(f"history of {n:,} state changes (100 entities, 3 attributes), batches of 5,000 rows per transaction:")
    print(f"  end to end (async_set + bus + queue + commit): {end_to_end:,.0f} rows/s")
    print(f"  recorder alone (flush: prepare JSON rows + executemany): {flush_only:,.0f} rows/s")
    print(f"baseline, one INSERT + COMMIT per row ({baseline_n:,} rows): {single:,.0f} rows/s")
    print(f"ratio recorder batched / single-row commits: {flush_only / single:.1f}x")
    noop, with_recorder = await bench_listener(n)
    print(
        f"bus fire+drain per event (best of 3): no-op MATCH_ALL listener {noop:.2f} µs,"
        f" recorder listener {with_recorder:.2f} µs ({with_recorder - noop:+.2f} µs)"
    )
    lag_n = min(n, 50_000)
    idle = await _ticker_lag(1.0)
    lag, commit = await bench_loop_lag(lag_n)
    print(
        f"commit of {lag_n:,} queued states: {commit:.0f} ms; worst 1 ms-ticker lateness meanwhile {lag:.1f} ms"
        f" (idle loop on this machine: {idle:.1f} ms)"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
