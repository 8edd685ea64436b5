"""kill -9 of a hub in the middle of a job: the restart requeues it, kills the orphaned worker
process, runs the type's cleanup, consults already_done, and the job completes exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from streamops.core import Hub
from streamops.jobs import JobContext, JobType
from tests.helpers_jobs import REPO, EventLog, gone, setup_jobs

CHILD = Path(__file__).resolve().parent / "helpers_jobs_child.py"


async def _run_child_and_kill(hub: Hub, out: Path, mode: str) -> tuple[int, int]:
    """Start a hub in a child process, wait until its job hangs, SIGKILL it; (job_id, worker pid)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        str(hub.config.config_dir),
        str(hub.config.data_dir),
        str(out),
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
    except TimeoutError:
        proc.kill()
        raise
    if not line.startswith(b"READY"):
        proc.kill()
        raise AssertionError(f"child did not get ready: {line!r} {await proc.stderr.read()!r}")
    _, job_id, worker_pid = line.split()
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    return int(job_id), int(worker_pid)


def _journal(hub: Hub, job_id: int) -> sqlite3.Row:
    with closing(sqlite3.connect(hub.config.path("db", "streamops.db"))) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM so_jobs WHERE id = ?", (job_id,)).fetchone()


def _finish_output(target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("complete")
    os.replace(tmp, target)


def _remove_temporary(target: Path) -> None:
    target.with_name(target.name + ".tmp").unlink(missing_ok=True)


def _verified(target: Path) -> bool:
    return target.is_file() and target.read_text() == "complete"


def _files(folder: Path) -> list[str]:
    """Names of everything the job left in `folder` (output and temporaries)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("rec"))


def _restart_type(out: Path, runs: list[dict[str, Any]], cleanups: list[dict[str, Any]]) -> JobType:
    """The same job type as the child's, in its finishing form."""

    async def run(ctx: JobContext) -> dict[str, Any]:
        runs.append(ctx.params)
        target = Path(ctx.params["out"])
        _finish_output(target)
        return {"output": str(target)}

    async def cleanup(params: dict[str, Any]) -> None:
        cleanups.append(params)
        _remove_temporary(Path(params["out"]))

    async def already_done(params: dict[str, Any]) -> dict[str, Any] | None:
        target = Path(params["out"])
        if _verified(target):
            return {"output": str(target), "verified": True}
        return None

    return JobType("test.write", run, heavy=False, cleanup=cleanup, already_done=already_done)


async def test_kill_9_mid_job_requeues_cleans_up_and_completes_once(hub: Hub, tmp_path: Path) -> None:
    out = tmp_path / "rec.mov"
    job_id, worker_pid = await _run_child_and_kill(hub, out, "before_output")
    row = _journal(hub, job_id)
    assert row["status"] == "running" and row["worker"] is not None
    assert str(worker_pid) in row["pids"]
    assert not gone(worker_pid)  # the killed hub's ffmpeg stand-in is still burning CPU
    assert _files(tmp_path) == ["rec.mov.tmp"]

    runs: list[dict[str, Any]] = []
    cleanups: list[dict[str, Any]] = []
    queue = await setup_jobs(hub, {"poll_interval": 0.1}, start=False)
    queue.register_type(_restart_type(out, runs, cleanups))
    log = EventLog(hub, "job_finished", "job_failed")
    await queue.async_start()
    assert gone(worker_pid)  # orphan killed at recovery
    assert cleanups == [{"out": str(out)}]
    job = await queue.wait(job_id, timeout=10)
    assert job["status"] == "done" and job["result"] == {"output": str(out)}
    assert job["attempts"] == 1  # the interrupted attempt did not count
    assert runs == [{"out": str(out)}]
    assert _verified(out) and _files(tmp_path) == ["rec.mov"]
    await hub.async_block_till_done()
    assert len(log.of("job_finished", job_id)) == 1 and not log.of("job_failed")


async def test_kill_9_after_output_written_is_not_redone(hub: Hub, tmp_path: Path) -> None:
    out = tmp_path / "rec.mov"
    job_id, worker_pid = await _run_child_and_kill(hub, out, "after_output")
    assert _journal(hub, job_id)["status"] == "running" and _files(tmp_path) == ["rec.mov"]

    runs: list[dict[str, Any]] = []
    cleanups: list[dict[str, Any]] = []
    queue = await setup_jobs(hub, {"poll_interval": 0.1}, start=False)
    queue.register_type(_restart_type(out, runs, cleanups))
    log = EventLog(hub, "job_finished")
    await queue.async_start()
    job = await queue.wait(job_id, timeout=5)
    assert job["status"] == "done" and job["result"] == {"output": str(out), "verified": True}
    assert runs == []  # already_done: the finished output was not produced a second time
    assert gone(worker_pid) and cleanups == [{"out": str(out)}] and _files(tmp_path) == ["rec.mov"]
    await asyncio.sleep(0.3)  # a few scheduling passes: still nothing runs
    assert runs == []
    await hub.async_block_till_done()
    finished = log.of("job_finished", job_id)
    assert len(finished) == 1 and finished[0]["recovered"] is True
