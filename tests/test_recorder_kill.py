"""`kill -9` of a hub in the middle of writing history never corrupts the database or loses a commit.

A child process runs a hub with the recorder and writes states as fast as it can (the commit loop
commits every 50 ms, so most of the time a batch is being prepared or written), flushing now and
then and printing the counter each flush made durable. The parent SIGKILLs it after a few flushes,
three times on the same data dir, then checks integrity and that restore brings back at least the
last durable value each time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from contextlib import closing
from pathlib import Path

from helpers_recorder import db_file, start_recorder

from streamops.core import Hub

REPO = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from streamops.core import Hub
    from streamops.recorder import CONFIG_SCHEMA, RECORDER, async_setup

    async def main() -> None:
        hub = Hub(sys.argv[1], sys.argv[2])
        await async_setup(hub, CONFIG_SCHEMA({"commit_interval": 0.05}))
        recorder = hub.data[RECORDER]
        restored = hub.states.get("sensor.counter")
        i = int(restored.state) if restored is not None else 0
        print("restored", i, flush=True)
        rounds = 0
        while True:
            rounds += 1
            for _ in range(200):
                i += 1
                hub.states.async_set("sensor.counter", i, {"blob": "x" * 300, "i": i})
                hub.states.async_set(f"sensor.n{i % 40}", i)
                hub.bus.async_fire("obs_marker", {"i": i})
            await asyncio.sleep(0)
            if rounds % 5 == 0:
                await recorder.flush()
                print("durable", i, flush=True)

    asyncio.run(main())
    """
)


async def _run_and_kill(config_dir: Path, data_dir: Path, flushes: int) -> tuple[int, int]:
    """Start the child, SIGKILL it after `flushes` durable flushes; returns (restored, last durable)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(config_dir), str(data_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    restored = durable = -1
    seen = 0
    try:
        async with asyncio.timeout(60):
            while seen < flushes:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
                    raise AssertionError(f"child exited early: {stderr[-2000:]}")
                word, value = line.split()
                if word == "restored":
                    restored = int(value)
                else:
                    durable = int(value)
                    seen += 1
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return restored, durable


async def test_kill_9_mid_write_keeps_the_database_intact_and_restorable(tmp_path: Path) -> None:
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir()
    previous_durable = 0
    for _ in range(3):
        restored, durable = await _run_and_kill(config_dir, data_dir, flushes=3)
        assert restored >= previous_durable  # nothing a flush made durable was lost to the kill
        assert durable > restored
        previous_durable = durable
        with closing(sqlite3.connect(data_dir / "db" / "streamops.db")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    hub = Hub(config_dir, data_dir)
    try:
        recorder = await start_recorder(hub)
        counter = hub.states.get("sensor.counter")
        assert counter is not None and int(counter.state) >= previous_durable
        assert counter.attributes["i"] == int(counter.state)
        # Every entity restored, and the current-state table points at rows that exist.
        assert len(hub.states.async_entity_ids("sensor")) == 41
        history = await recorder.get_history("sensor.counter", 0)
        assert int(history[-1]["state"]) == int(counter.state)
        with closing(sqlite3.connect(db_file(hub))) as conn:
            dangling = conn.execute(
                "SELECT COUNT(*) FROM so_states_current c LEFT JOIN so_states s ON s.state_id = c.state_id"
                " WHERE s.state_id IS NULL"
            ).fetchone()[0]
        assert dangling == 0
    finally:
        await hub.async_stop()
