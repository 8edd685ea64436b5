"""A hub in a child process that starts one `test.write` job and hangs in it, to be killed with SIGKILL.

Usage: python helpers_jobs_child.py CONFIG_DIR DATA_DIR OUT MODE
MODE `before_output`: the job has written its temporary and started a worker process.
MODE `after_output`: the job has also renamed the finished output into place (the crash happens
before the journal says done). Prints `READY <job_id> <worker_pid>` once there.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from streamops.core import Hub
from streamops.jobs import CONFIG_SCHEMA, JOBS, JobContext, JobType
from streamops.jobs import async_setup as jobs_setup
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import async_setup as recorder_setup


async def main(config_dir: str, data_dir: str, out: str, mode: str) -> None:
    hub = Hub(config_dir, data_dir)
    await recorder_setup(hub, RECORDER_SCHEMA({}))
    await jobs_setup(hub, CONFIG_SCHEMA({"poll_interval": 0.1}))
    queue = hub.data[JOBS]
    ready = asyncio.Event()
    holder: dict[str, Any] = {}

    async def run(ctx: JobContext) -> dict[str, Any]:
        target = Path(ctx.params["out"])
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text("partial")
        proc = await ctx.create_subprocess_exec(
            sys.executable,
            "-c",
            "while True:\n    pass",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        holder["pid"] = proc.pid
        if mode == "after_output":
            tmp.write_text("complete")
            os.replace(tmp, target)
        await asyncio.sleep(0.3)  # let the journal record the worker pid
        ready.set()
        await asyncio.Event().wait()  # hang until killed
        return {}

    queue.register_type(JobType("test.write", run, heavy=False))
    await hub.async_start()
    job_id = await queue.submit("test.write", {"out": out})
    await ready.wait()
    print("READY", job_id, holder["pid"], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
