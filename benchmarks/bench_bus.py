"""Bus throughput: 1,000,000 events to one sync listener, and 1,000 state trackers.

Baselines measured in the same run:
- the same listener called 1,000,000 times through `loop.call_soon` (what Home Assistant does per
  listener per event: the floor for a bus that schedules each delivery);
- the tracker case with 1 tracker instead of 1,000 (ratio near 1 means dispatch cost does not grow
  with the number of trackers).
Run: .venv/bin/python benchmarks/bench_bus.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time

from streamops.core import EVENT_STATE_CHANGED, Hub
from streamops.helpers.event import async_track_state_change_event


async def bench_fire(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(tmp, tmp)
        count = 0

        def listener(event: object) -> None:
            nonlocal count
            count += 1

        hub.bus.async_listen("bench", listener)
        fire = hub.bus.async_fire
        data = {"n": 1}
        start = time.perf_counter()
        for _ in range(n):
            fire("bench", data)
        fired = time.perf_counter()
        await hub.async_block_till_done(timeout=600)
        drained = time.perf_counter()
        assert count == n, count
        return fired - start, drained - fired


async def bench_call_soon(n: int) -> float:
    loop = asyncio.get_running_loop()
    count = 0
    done = asyncio.Event()

    def listener(event: object) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    start = time.perf_counter()
    call_soon = loop.call_soon
    for _ in range(n):
        call_soon(listener, None)
    await done.wait()
    return time.perf_counter() - start


async def bench_trackers(n: int, trackers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(tmp, tmp)
        hits = 0

        def action(event: object) -> None:
            nonlocal hits
            hits += 1

        for i in range(trackers):
            async_track_state_change_event(hub, f"sensor.t{i}", action)
        # Events for entities across a wider range: exactly one tracker matches each tracked entity.
        datas = [{"entity_id": f"sensor.t{i % trackers}", "old_state": None, "new_state": None} for i in range(1000)]
        fire = hub.bus.async_fire
        start = time.perf_counter()
        for i in range(n):
            fire(EVENT_STATE_CHANGED, datas[i % 1000])
        await hub.async_block_till_done(timeout=600)
        elapsed = time.perf_counter() - start
        assert hits == n, hits
        return elapsed


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    fire_s, drain_s = await bench_fire(n)
    base = await bench_call_soon(n)
    total = fire_s + drain_s
    print(f"bus: {n:,} events to one sync listener: fire {fire_s:.3f} s, drain {drain_s:.3f} s, total {total:.3f} s")
    print(f"bus: baseline {n:,} x loop.call_soon(listener): {base:.3f} s -> ratio total/baseline = {total / base:.2f}")
    print(f"bus: {n / total:,.0f} events/s, {total / n * 1e6:.2f} us/event")
    many = await bench_trackers(n, 1000)
    one = await bench_trackers(n, 1)
    print(
        f"trackers: {n:,} state_changed with 1,000 trackers: {many:.3f} s; with 1 tracker: {one:.3f} s;"
        f" ratio {many / one:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
