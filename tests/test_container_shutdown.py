"""`docker stop` in the middle of a real ffmpeg job: SIGTERM to `streamops run` (a real process, as
supervisord runs it in the container) stops it cleanly — the job goes back to the queue with its
reason journaled, ffmpeg is gone, no temporary is left, the database is closed — and the next start
resumes the job to a complete, verified output."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from mqtt_broker import free_port

from tests.media_fixtures import duration_of, make_video, temporaries

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(180)


def _config(tmp_path: Path, port: int, drive: Path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "configuration.yaml").write_text(
        f"http:\n  server_port: {port}\n"
        f"drives:\n  media:\n    path: {drive}\n    watch: []\n"
        # Guardrails off: the machine's own CPU load must not hold the job back in this test.
        "jobs:\n  poll_interval: 0.1\n  guardrails:\n    enabled: false\n"
        "media: {}\n",
        encoding="utf-8",
    )
    return config


@asynccontextmanager
async def hub_process(config: Path, data: Path, port: int, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    handle = log.open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamops", "run", "-c", str(config), "--data", str(data),
        stdout=handle, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    handle.close()
    try:
        async with asyncio.timeout(60), aiohttp.ClientSession() as session:
            while True:
                assert proc.returncode is None, _read(log)
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health/ready") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _exists(path: str) -> bool:
    return Path(path).exists()


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


def _job(db: Path, job_id: int) -> dict[str, Any]:
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM so_jobs WHERE id = ?", (job_id,)).fetchone())


def _ffmpeg_children(pid: int) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if "ffmpeg" in p.name()]
    except psutil.NoSuchProcess:
        return []


async def _wait(predicate: Any, timeout: float, what: str) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            value = await asyncio.to_thread(predicate)
            if value:
                return value
            await asyncio.sleep(0.05)
    raise AssertionError(what)  # pragma: no cover


async def test_sigterm_during_ffmpeg_job_stops_cleanly_and_the_job_resumes(tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    source = make_video(drive / "rec.mp4", duration=8.0, size="480x270")
    output = drive / "rec.x265.mp4"
    port = free_port()
    config, data = _config(tmp_path, port, drive), tmp_path / "data"
    db = data / "db" / "streamops.db"
    log = tmp_path / "hub.log"

    async with hub_process(config, data, port, log) as proc:
        token = re.search(r"auth/login\?token=(\S+)", _read(log))
        assert token, _read(log)
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            body = {"input": str(source), "output": str(output), "preset": "x265", "wait": False}
            async with session.post(
                f"http://127.0.0.1:{port}/api/services/media/transcode?return_response", json=body
            ) as resp:
                assert resp.status == 200, await resp.text()
                answer = await resp.json()
        job_id = int(answer["service_response"]["job_id"])
        # Mid-job: ffmpeg runs and has reported progress.
        await _wait(lambda: _job(db, job_id)["status"] == "running" and _ffmpeg_children(proc.pid), 60, "job start")
        await _wait(lambda: (_job(db, job_id)["progress"] or 0) > 0, 60, "progress")
        ffmpeg = _ffmpeg_children(proc.pid)
        assert ffmpeg and _job(db, job_id)["status"] == "running"
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        assert code == 0, _read(log)

    row = _job(db, job_id)
    assert row["status"] == "queued", row
    assert "interrupted by shutdown" in (row["blocked_reason"] or "")
    assert row["worker"] is None and row["pids"] is None and row["attempts"] == 0
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in ffmpeg)
    assert not output.exists() and temporaries(drive) == []
    assert not _exists(f"{db}-wal"), "the database was not closed (WAL left behind)"

    async with hub_process(config, data, port, log) as proc:
        await _wait(lambda: _job(db, job_id)["status"] in ("done", "error"), 120, "job to finish after restart")
        row = _job(db, job_id)
        assert row["status"] == "done", row
        assert row["attempts"] == 1  # the interrupted attempt did not count
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert output.is_file() and abs(duration_of(output) - duration_of(source)) < 0.5
    assert temporaries(drive) == []
    assert duration_of(source) > 7.5  # the source is untouched
