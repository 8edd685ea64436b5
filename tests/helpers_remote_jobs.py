# ruff: noqa: ASYNC230, ASYNC240 - tiny local files in test job types
"""Job types for the remote worker tests and benchmark, loaded by workers as a plugin module.

`test.slow` writes its output the way the media types do (temporary name → rename), reports
progress per step, and appends one line per *completed run* to a log — so a test can prove a job
that was redelivered still finished exactly once. `test.noop` is an empty job (dispatch cost);
`test.spin` burns CPU for `seconds` in a thread (scaling).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from streamops.core import Hub
from streamops.jobs import JobContext, JobType

TEMP_MARK = ".streamops-tmp"


def _temp(output: Path) -> Path:
    return output.with_name(f".{output.stem}{TEMP_MARK}{output.suffix}")


async def run_slow(ctx: JobContext) -> dict[str, Any]:
    output = Path(ctx.params["output"])
    steps = int(ctx.params.get("steps", 10))
    pause = float(ctx.params.get("step_seconds", 0.1))
    temp = _temp(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(temp, "w", encoding="utf-8") as handle:
        for step in range(steps):
            handle.write(f"step {step}\n")
            handle.flush()
            ctx.progress(100.0 * (step + 1) / steps, message=f"step {step + 1}/{steps}")
            await asyncio.sleep(pause)
        handle.write("complete\n")
    os.replace(temp, output)
    if ctx.params.get("log"):
        with open(ctx.params["log"], "a", encoding="utf-8") as log:
            log.write(f"{ctx.job_id} {ctx.attempt} {os.getpid()}\n")
    return {"output": str(output), "pid": os.getpid()}


async def slow_done(params: dict[str, Any]) -> dict[str, Any] | None:
    output = Path(params["output"])
    try:
        if output.read_text(encoding="utf-8").endswith("complete\n"):
            return {"output": str(output), "reused": True}
    except OSError:
        return None
    return None


async def slow_cleanup(params: dict[str, Any]) -> None:
    _temp(Path(params["output"])).unlink(missing_ok=True)


async def run_noop(ctx: JobContext) -> dict[str, Any]:
    return {"n": ctx.params.get("n")}


def _spin(seconds: float) -> int:
    end = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < end:
        count += 1
    return count


async def run_spin(ctx: JobContext) -> dict[str, Any]:
    loops = await asyncio.to_thread(_spin, float(ctx.params.get("seconds", 0.2)))
    return {"loops": loops, "pid": os.getpid()}


def job_types() -> list[JobType]:
    return [
        JobType("test.slow", run_slow, resource="cpu", heavy=True, already_done=slow_done, cleanup=slow_cleanup),
        JobType("test.noop", run_noop, resource="cpu", heavy=False),
        JobType("test.spin", run_spin, resource="cpu", heavy=True),
    ]


def register_job_types(hub: Hub) -> list[JobType]:
    """The plugin entry point `streamops worker --plugin tests.helpers_remote_jobs` calls."""
    return job_types()
