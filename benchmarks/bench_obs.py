"""OBS link: request round trips and event delivery, StreamOps' asyncio client vs obsws-python.

Both talk to the same test obs-websocket v5 server (tests/obs_fake_server.py) on loopback.
Baselines measured in the same run:
- requests: obsws-python's ReqClient called through `asyncio.to_thread` (how a threaded client is
  bridged into the hub), and called directly in one thread (its best case, no bridge);
- events: obsws-python's EventClient with each callback hopping into the loop with
  `call_soon_threadsafe` (the LESSONS.md rule), counted on the loop.
Run: .venv/bin/python benchmarks/bench_obs.py [N]
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from integrations.obs.protocol import ObsWebSocket
from tests.obs_fake_server import FakeObsServer

PASSWORD = "bench"


async def ours_requests(port: int, n: int, concurrency: int) -> float:
    ws = await ObsWebSocket.connect("127.0.0.1", port, PASSWORD, lambda t, d: None)
    try:
        start = time.perf_counter()

        async def worker(count: int) -> None:
            for _ in range(count):
                await ws.request("GetStats")

        await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
        return time.perf_counter() - start
    finally:
        await ws.close()


async def obsws_requests(port: int, n: int, bridged: bool) -> float:
    import obsws_python as obs

    client = await asyncio.to_thread(obs.ReqClient, host="127.0.0.1", port=port, password=PASSWORD, timeout=5)
    try:
        start = time.perf_counter()
        if bridged:
            for _ in range(n):
                await asyncio.to_thread(client.send, "GetStats", None, True)
        else:

            def loop_in_thread() -> None:
                for _ in range(n):
                    client.send("GetStats", None, True)

            await asyncio.to_thread(loop_in_thread)
        return time.perf_counter() - start
    finally:
        await asyncio.to_thread(client.base_client.ws.close)


async def ours_events(server: FakeObsServer, n: int) -> float:
    done = asyncio.Event()
    count = 0

    def on_event(event_type: str, data: dict[str, object]) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    ws = await ObsWebSocket.connect("127.0.0.1", server.port, PASSWORD, on_event)
    try:
        start = time.perf_counter()
        for i in range(n):
            await server.emit("CurrentProgramSceneChanged", {"sceneName": f"S{i % 4}", "sceneUuid": "u"})
        await asyncio.wait_for(done.wait(), 120)
        return time.perf_counter() - start
    finally:
        await ws.close()


async def obsws_events(server: FakeObsServer, n: int) -> float:
    import obsws_python as obs

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    count = 0

    def on_loop() -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    def on_current_program_scene_changed(data: object) -> None:
        loop.call_soon_threadsafe(on_loop)

    client = await asyncio.to_thread(obs.EventClient, host="127.0.0.1", port=server.port, password=PASSWORD)
    client.callback.register(on_current_program_scene_changed)
    await asyncio.sleep(0.2)  # let its thread start reading
    try:
        start = time.perf_counter()
        for i in range(n):
            await server.emit("CurrentProgramSceneChanged", {"sceneName": f"S{i % 4}", "sceneUuid": "u"})
        await asyncio.wait_for(done.wait(), 120)
        return time.perf_counter() - start
    finally:
        await asyncio.to_thread(client.disconnect)


async def main(n: int) -> None:
    logging.getLogger("obsws_python").setLevel(logging.CRITICAL)  # it logs the password at INFO
    with tempfile.TemporaryDirectory() as tmp:
        server = FakeObsServer(Path(tmp), password=PASSWORD)
        port = await server.start()
        try:
            ours = await ours_requests(port, n, 1)
            ours_parallel = await ours_requests(port, n, 8)
            bridged = await obsws_requests(port, n, bridged=True)
            direct = await obsws_requests(port, n, bridged=False)
            print(f"{n} GetStats round trips:")
            print(f"  StreamOps client, sequential     {ours * 1e6 / n:8.1f} µs/request")
            print(f"  StreamOps client, 8 in flight    {ours_parallel * 1e6 / n:8.1f} µs/request")
            print(f"  obsws-python via to_thread       {bridged * 1e6 / n:8.1f} µs/request")
            print(f"  obsws-python direct (one thread) {direct * 1e6 / n:8.1f} µs/request")
            print(f"  ratio to_thread / ours: {bridged / ours:.2f}x; direct / ours: {direct / ours:.2f}x")
            events_ours = await ours_events(server, n)
            events_obsws = await obsws_events(server, n)
            print(f"{n} events from OBS to the loop:")
            print(f"  StreamOps client                 {n / events_ours:10.0f} events/s")
            print(f"  obsws-python + call_soon_threadsafe {n / events_obsws:7.0f} events/s")
            print(f"  ratio: {events_obsws / events_ours:.2f}x the time")
        finally:
            await server.stop(exit_event=False)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
