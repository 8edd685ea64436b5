"""Helpers for the recorder tests: hubs on a shared data dir (for restarts) and condition waits."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from streamops.core import Hub
from streamops.recorder import CONFIG_SCHEMA, RECORDER, Recorder, async_open_database


async def start_recorder(
    hub: Hub, *, max_queue: int | None = None, batch_size: int | None = None, **config: Any
) -> Recorder:
    """Set up the recorder the way `async_setup` does, with knobs the config schema does not offer."""
    validated = CONFIG_SCHEMA(config)
    db = await async_open_database(hub, validated)
    recorder = Recorder(hub, db, validated, max_queue=max_queue, batch_size=batch_size)
    hub.data[RECORDER] = recorder
    await recorder.async_start()
    hub.async_on_stop(db.close)
    hub.async_on_stop(recorder.async_stop)
    return recorder


async def restart(hub: Hub, **config: Any) -> tuple[Hub, Recorder]:
    """Stop `hub` and build a new one on the same config and data dirs with a fresh recorder."""
    await hub.async_stop()
    new_hub = Hub(hub.config.config_dir, hub.config.data_dir)
    return new_hub, await start_recorder(new_hub, **config)


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0, what: str = "condition") -> None:
    """Re-check an async condition (each check yields to the loop) until true; AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def db_file(hub: Hub) -> Path:
    return hub.config.path("db", "streamops.db")


def count_rows(path: Path, table: str) -> int:
    """Count through a separate connection: what another process (or a restart) would see on disk."""
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
