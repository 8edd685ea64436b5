"""WebSocket fan-out: 100 clients subscribed to state_changed while 10,000 states change.

Reports p50/p99/max delivery latency (from `async_set` in the hub to the client having the message)
and the wall time, for StreamOps' real API (hub + recorder + http, token auth, the Home Assistant
`subscribe_events` protocol) with and without Home Assistant's `coalesce_messages` feature.

Baseline measured in the same run: a bare aiohttp WebSocket server that sends the same JSON (built
once per change) to the same 100 clients through a per-client queue and writer task — no bus, no
state machine, no auth, no bounds. The ratio StreamOps/bare is the cost of everything the hub adds.

Clients run in a separate process (one asyncio loop, 100 connections) so the server's loop is
measured, not the client's; timestamps use CLOCK_MONOTONIC (time.perf_counter), shared by both
processes on Linux. Changes are paced (default 250/s, bursts every 10 ms) so latency means
latency, not queue drain time. Server CPU time (process time of the serving process) is printed
too: unlike latency it does not depend on what else the machine is running.

Run: .venv/bin/python benchmarks/bench_websocket.py [--clients 100] [--changes 10000] [--rate 250]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# new_state's first attribute is "sent" (old_state carries the previous one): match only new_state.
_SENT_RE = re.compile(r'"new_state":\{"entity_id":"[^"]*","state":"[^"]*","attributes":\{"sent":([0-9.eE+-]+)')
ENTITIES = 100


# -- client process ---------------------------------------------------------------------------------
async def run_clients(url: str, token: str, clients: int, changes: int, mode: str, timeout: float) -> dict[str, Any]:
    latencies = array("d")
    counts = [0] * clients
    done = asyncio.Event()
    finished = 0
    cut = 0
    perf = time.perf_counter
    session = aiohttp.ClientSession()
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    try:
        for _ in range(clients):
            ws = await session.ws_connect(url, max_msg_size=0)
            if mode != "bare":
                assert (await ws.receive_json())["type"] == "auth_required"
                await ws.send_json({"type": "auth", "access_token": token})
                assert (await ws.receive_json())["type"] == "auth_ok"
                next_id = 1
                if mode == "coalesce":
                    await ws.send_json({"id": 1, "type": "supported_features", "features": {"coalesce_messages": 1}})
                    assert (await ws.receive_json())["success"]
                    next_id = 2
                await ws.send_json({"id": next_id, "type": "subscribe_events", "event_type": "state_changed"})
                assert (await ws.receive_json())["success"]
            else:
                await ws.send_str("subscribe")
                assert (await ws.receive_str()) == "ok"
            sockets.append(ws)

        async def reader(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal finished, cut
            append = latencies.append
            while counts[index] < changes:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    cut += 1
                    break
                now = perf()
                for match in _SENT_RE.finditer(msg.data):
                    append(now - float(match.group(1)))
                    counts[index] += 1
            finished += 1
            if finished == clients:
                done.set()

        tasks = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]
        print("READY", flush=True)
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except TimeoutError:
            pass
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for ws in sockets:
            await ws.close()
        await session.close()
    ordered = sorted(latencies)
    return {
        "received": len(ordered),
        "expected": clients * changes,
        "cut_off": cut,
        "p50_ms": 1000 * ordered[len(ordered) // 2] if ordered else None,
        "p99_ms": 1000 * ordered[int(len(ordered) * 0.99)] if ordered else None,
        "max_ms": 1000 * ordered[-1] if ordered else None,
        "mean_ms": 1000 * statistics.fmean(ordered) if ordered else None,
    }


# -- server side ------------------------------------------------------------------------------------
async def start_clients(url: str, token: str, args: argparse.Namespace, mode: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        url,
        token,
        str(args.clients),
        str(args.changes),
        mode,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if line.strip() != b"READY":
        raise RuntimeError(f"client process failed to start: {line!r}")
    return proc


async def paced(changes: int, rate: float, change: Any) -> float:
    """Call change(i) `changes` times at `rate`/s in 10 ms bursts; returns the firing wall time."""
    burst = max(1, int(rate / 100))
    start = time.perf_counter()
    for i in range(changes):
        change(i)
        if (i + 1) % burst == 0:
            target = start + (i + 1) / rate
            delay = target - time.perf_counter()
            await asyncio.sleep(delay if delay > 0 else 0)
    return time.perf_counter() - start


async def finish(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    out = await asyncio.wait_for(proc.stdout.read(), 600)
    await proc.wait()
    return json.loads(out.decode().strip().splitlines()[-1])


async def bench_streamops(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    from streamops.api import CONFIG_SCHEMA as HTTP_SCHEMA
    from streamops.api import HTTP
    from streamops.api import async_setup as http_setup
    from streamops.api.auth import KIND_OWNER, create_token
    from streamops.core import Hub
    from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
    from streamops.recorder import DATABASE
    from streamops.recorder import async_setup as recorder_setup

    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(Path(tmp) / "config", Path(tmp) / "data")
        try:
            assert await recorder_setup(hub, RECORDER_SCHEMA({}))
            token = await create_token(hub.data[DATABASE], "bench", KIND_OWNER)
            assert await http_setup(hub, HTTP_SCHEMA({"server_port": 0}))
            await hub.async_start()
            server = hub.data[HTTP]
            url = server.url.replace("http://", "ws://") + "/api/websocket"
            proc = await start_clients(url, token, args, mode)
            perf = time.perf_counter
            set_state = hub.states.async_set

            def change(i: int) -> None:
                set_state(
                    f"sensor.bench_{i % ENTITIES}",
                    str(i),
                    {"sent": perf(), "unit_of_measurement": "%", "friendly_name": f"Bench {i % ENTITIES}"},
                )

            cpu = time.process_time()
            fire_time = await paced(args.changes, args.rate, change)
            result = await finish(proc)
            result["server_cpu_s"] = time.process_time() - cpu
            result["fire_s"] = fire_time
            result["cut_off_by_server"] = server.ws_cut_off
            return result
        finally:
            await hub.async_stop()


async def bench_bare(args: argparse.Namespace) -> dict[str, Any]:
    """The floor: aiohttp alone, one json.dumps per change, a queue and writer per client."""
    queues: list[asyncio.Queue[str]] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive_str()
        queue: asyncio.Queue[str] = asyncio.Queue()
        queues.append(queue)
        await ws.send_str("ok")

        async def writer() -> None:
            while True:
                await ws.send_str(await queue.get())

        task = asyncio.create_task(writer())
        async for _ in ws:
            pass
        task.cancel()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        proc = await start_clients(f"ws://127.0.0.1:{port}/ws", "", args, "bare")
        perf = time.perf_counter
        old: dict[str, dict[str, Any] | None] = {}

        def change(i: int) -> None:
            entity_id = f"sensor.bench_{i % ENTITIES}"
            now = time.time()
            new = {
                "entity_id": entity_id,
                "state": str(i),
                "attributes": {"sent": perf(), "unit_of_measurement": "%", "friendly_name": f"Bench {i % ENTITIES}"},
                "last_changed": now,
                "last_updated": now,
                "context": {"id": "", "parent_id": None, "user_id": None},
            }
            message = json.dumps(
                {
                    "id": 1,
                    "type": "event",
                    "event": {
                        "event_type": "state_changed",
                        "data": {"entity_id": entity_id, "old_state": old.get(entity_id), "new_state": new},
                        "origin": "LOCAL",
                        "time_fired": now,
                        "context": {"id": "0" * 32, "parent_id": None, "user_id": None},
                    },
                },
                separators=(",", ":"),
            )
            old[entity_id] = new
            for queue in queues:
                queue.put_nowait(message)

        cpu = time.process_time()
        fire_time = await paced(args.changes, args.rate, change)
        result = await finish(proc)
        result["server_cpu_s"] = time.process_time() - cpu
        result["fire_s"] = fire_time
        return result
    finally:
        await runner.cleanup()


def line(name: str, result: dict[str, Any]) -> str:
    ok = "" if result["received"] == result["expected"] else f"  INCOMPLETE {result['received']}/{result['expected']}"
    return (
        f"{name:<28} p50 {result['p50_ms']:8.2f} ms   p99 {result['p99_ms']:8.2f} ms   max {result['max_ms']:8.2f} ms"
        f"   fire {result['fire_s']:.1f} s   server CPU {result['server_cpu_s']:.2f} s"
        f" ({1e6 * result['server_cpu_s'] / result['expected']:.1f} µs/message){ok}"
    )


async def main(args: argparse.Namespace) -> None:
    print(
        f"{args.clients} WebSocket clients subscribed to state_changed, {args.changes} state changes"
        f" at {args.rate:.0f}/s ({args.clients * args.changes:,} messages)"
    )
    bare = await bench_bare(args)
    print(line("bare aiohttp (baseline)", bare))
    plain = await bench_streamops(args, "plain")
    print(line("StreamOps", plain))
    coalesced = await bench_streamops(args, "coalesce")
    print(line("StreamOps + coalesce", coalesced))
    for name, result in (("StreamOps", plain), ("StreamOps + coalesce", coalesced)):
        print(
            f"ratio {name} / bare: p50 {result['p50_ms'] / bare['p50_ms']:.2f}x,"
            f" p99 {result['p99_ms'] / bare['p99_ms']:.2f}x,"
            f" server CPU {result['server_cpu_s'] / bare['server_cpu_s']:.2f}x"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (latency is wall time)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        _, _, url, token, clients, changes, mode = sys.argv
        result = asyncio.run(run_clients(url, token, int(clients), int(changes), mode, timeout=300))
        print(json.dumps(result), flush=True)
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=250.0, help="state changes per second")
    asyncio.run(main(parser.parse_args()))
