"""Waiting on a condition with a deadline, for state that has no event to await (a subprocess, a socket)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Return as soon as predicate() is truthy; TimeoutError naming the predicate after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition {getattr(predicate, '__name__', predicate)!r} not met within {timeout} s")
        await asyncio.sleep(interval)
