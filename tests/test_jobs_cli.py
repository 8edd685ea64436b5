"""`streamops jobs`: the table (progress, speed, ETA, why waiting), actions on the journal while no
hub runs, and actions handed to a running hub (which really stops/kills the process)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import psutil
import pytest

from streamops.cli import main as cli_main
from streamops.core import Hub
from streamops.jobs import JobContext, JobError, JobType
from tests.helpers_jobs import REPO, fast_config, gone, process_job_type, process_status, setup_jobs, wait_for, wait_job


def _db(hub: Hub) -> str:
    return str(hub.config.path("db", "streamops.db"))


async def _ok(ctx: JobContext) -> dict[str, Any]:
    return {"output": "/edit/a.mov"}


async def _fail(ctx: JobContext) -> dict[str, Any]:
    raise JobError("ffmpeg exited 1: moov atom not found", retry=False)


async def _journal_some_jobs(hub: Hub) -> dict[str, int]:
    queue = await setup_jobs(hub, fast_config())
    queue.register_type(JobType("media.remux", _ok, heavy=False))
    queue.register_type(JobType("media.proxy", _fail))
    queue.register_type(JobType("media.sprite", _ok))
    ids = {"done": await queue.submit("media.remux", {}), "error": await queue.submit("media.proxy", {})}
    await queue.wait(ids["done"], timeout=5)
    await queue.wait(ids["error"], timeout=5)
    hub.states.async_set("binary_sensor.obs_recording", "on")
    ids["held"] = await queue.submit("media.sprite", {}, priority=5)
    await wait_job(queue, ids["held"], lambda j: j["blocked_reason"], what="held")
    await queue.async_stop()
    return ids


async def test_list_offline_shows_status_reason_result_and_json(
    db_hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await _journal_some_jobs(db_hub)
    assert cli_main(["jobs", "--db", _db(db_hub)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "TYPE", "STATUS", "PRI", "PROGRESS", "SPEED", "ETA", "TRIES", "WHEN", "INFO"]
    rows = {line.split()[0]: line for line in out[1:]}
    assert "queued" in rows[str(ids["held"])] and "guardrail: OBS is recording" in rows[str(ids["held"])]
    assert "100.0%" in rows[str(ids["done"])] and '{"output":"/edit/a.mov"}' in rows[str(ids["done"])]
    assert "moov atom not found" in rows[str(ids["error"])] and "1/3" in rows[str(ids["error"])]
    assert out[1].split()[0] == str(ids["held"])  # active jobs first

    assert cli_main(["jobs", "list", "--db", _db(db_hub), "--status", "error", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [j["id"] for j in listed] == [ids["error"]] and listed[0]["error"].startswith("ffmpeg exited 1")

    assert cli_main(["jobs", "--db", _db(db_hub), "--status", "bogus"]) == 1
    assert "unknown status bogus" in capsys.readouterr().err
    assert cli_main(["jobs", "--db", str(db_hub.config.path("nope.db"))]) == 1
    assert "no StreamOps database at" in capsys.readouterr().err


async def test_actions_offline_change_the_journal(db_hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    ids = await _journal_some_jobs(db_hub)
    db = _db(db_hub)
    queue = await setup_jobs(db_hub, start=False)

    assert cli_main(["jobs", "pause", str(ids["held"]), "--db", db]) == 0
    assert "pause applied in the journal; status paused (paused by user)" in capsys.readouterr().out
    assert cli_main(["jobs", "resume", str(ids["held"]), "--db", db]) == 0
    assert (await queue.get(ids["held"]))["status"] == "queued"
    assert cli_main(["jobs", "cancel", str(ids["held"]), "--db", db]) == 0
    assert (await queue.get(ids["held"]))["status"] == "canceled"
    assert cli_main(["jobs", "retry", str(ids["error"]), "--db", db]) == 0
    job = await queue.get(ids["error"])
    assert job["status"] == "queued" and job["attempts"] == 0 and job["error"] is None
    capsys.readouterr()
    assert cli_main(["jobs", "cancel", str(ids["done"]), "--db", db]) == 1
    assert "is already done: nothing to cancel" in capsys.readouterr().err
    assert cli_main(["jobs", "show", "999", "--db", db]) == 1
    assert "no job with id 999" in capsys.readouterr().err
    assert cli_main(["jobs", "show", str(ids["done"]), "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["result"] == {"output": "/edit/a.mov"}


async def _cli(*args: str) -> tuple[int, str, str]:
    """Run `python -m streamops jobs ...` as a real separate process (the loop keeps running)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streamops",
        "jobs",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=str(REPO),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_actions_on_a_live_hubs_running_job_are_applied_by_the_hub(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    base = process_job_type("media.proxy", pids=pids)

    async def with_progress(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(42.0, speed=2.5, eta=75, message="frame=1234")
        return await base.run(ctx)

    queue.register_type(JobType("media.proxy", with_progress, cleanup=base.cleanup))
    job_id = await queue.submit("media.proxy", {})
    await wait_for(lambda: pids and process_status(pids[0]) == psutil.STATUS_RUNNING, what="running")
    await wait_job(queue, job_id, lambda j: j["progress"] == 42.0, what="progress journaled")

    code, out, _ = await _cli("--db", _db(db_hub))
    row = next(line for line in out.splitlines() if line.startswith(str(job_id)))
    assert code == 0 and "running" in row and "42.0%" in row and "2.50x" in row and "1:15" in row

    code, out, err = await _cli("pause", str(job_id), "--db", _db(db_hub))
    assert code == 0, err
    assert "pause applied by the running hub; status paused" in out
    assert process_status(pids[0]) == psutil.STATUS_STOPPED

    code, out, err = await _cli("resume", str(job_id), "--db", _db(db_hub))
    assert code == 0 and "status running" in out, out + err
    await wait_for(lambda: process_status(pids[0]) != psutil.STATUS_STOPPED, timeout=1, what="continued")

    code, out, err = await _cli("cancel", str(job_id), "--db", _db(db_hub))
    assert code == 0 and "status canceled" in out, out + err
    assert gone(pids[0])
