"""The supervised ffmpeg runner: progress, errors, stall watchdog, missing binary, cancellation."""

# ruff: noqa: ASYNC110 - polling for a process to appear, bounded by a timeout

from __future__ import annotations

import asyncio
import os
import signal
import stat
from pathlib import Path
from typing import Any

import psutil
import pytest

from streamops.jobs.model import JobError
from streamops.media.ffmpeg_runner import FfmpegFailed, Progress, parse_progress_value, run_ffmpeg


class StandInContext:
    """The slice of JobContext the runner uses, recording progress; pausing SIGSTOPs like the queue."""

    def __init__(self) -> None:
        self.job_id = 1
        self.reports: list[dict[str, Any]] = []
        self.processes: list[asyncio.subprocess.Process] = []
        self._paused = False
        self.paused_seconds = 0.0

    def progress(
        self, percent: float | None, *, speed: float | None = None, eta: float | None = None, message: str | None = None
    ) -> None:
        self.reports.append({"percent": percent, "speed": speed, "eta": eta, "message": message})

    def attach_process(self, proc: asyncio.subprocess.Process) -> None:
        self.processes.append(proc)

    def detach_process(self, proc: asyncio.subprocess.Process) -> None:
        self.processes.remove(proc)

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, value: bool) -> None:
        self._paused = value
        for proc in self.processes:
            os.killpg(proc.pid, signal.SIGSTOP if value else signal.SIGCONT)


def _fake_program(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_progress_block_parsing() -> None:
    block = Progress()
    for line in ("frame=10", "out_time_us=2500000", "speed=1.5x", "total_size=N/A", "progress=end"):
        key, _, value = line.partition("=")
        parse_progress_value(key, value, block)
    assert (block.frame, block.out_time, block.speed, block.total_size, block.ended) == (10, 2.5, 1.5, None, True)


async def test_real_ffmpeg_reports_percent_speed_eta() -> None:
    ctx = StandInContext()
    argv = [
        "ffmpeg",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25:duration=6",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "null",
        "-",
    ]
    result = await run_ffmpeg(ctx, argv, duration=6.0, stall_timeout=30)
    assert result.returncode == 0
    percents = [r["percent"] for r in ctx.reports if r["percent"] is not None]
    assert percents and percents == sorted(percents)
    assert percents[-1] == pytest.approx(100.0, abs=2)
    assert any(r["speed"] for r in ctx.reports)
    assert ctx.processes == []  # detached when done


async def test_nonzero_exit_is_a_job_error_with_stderr_lines(tmp_path: Path) -> None:
    ctx = StandInContext()
    missing = tmp_path / "no such input.mkv"
    with pytest.raises(FfmpegFailed) as caught:
        await run_ffmpeg(ctx, ["ffmpeg", "-i", str(missing), "-f", "null", "-"], duration=None)
    message = str(caught.value)
    assert "exited with code" in message and "No such file or directory" in message
    assert caught.value.stderr_tail


async def test_missing_ffmpeg_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JobError, match="ffmpeg not found on PATH") as caught:
        await run_ffmpeg(StandInContext(), ["ffmpeg", "-version"], duration=None)
    assert caught.value.retry is False


async def test_stalled_process_and_its_children_are_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hung 'ffmpeg' (prints nothing, sleeps; with a child) is killed after the stall timeout."""
    bin_dir = tmp_path / "bin"
    pid_file = tmp_path / "child.pid"
    _fake_program(bin_dir, "ffmpeg", f'echo "stuck on purpose" >&2\nsleep 300 &\necho $! > "{pid_file}"\nwait\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    ctx = StandInContext()
    started = asyncio.get_running_loop().time()
    with pytest.raises(FfmpegFailed, match="stalled: no progress for 1 s") as caught:
        await run_ffmpeg(ctx, ["ffmpeg", "-i", "x"], duration=10, stall_timeout=1.0)
    elapsed = asyncio.get_running_loop().time() - started
    assert 0.9 <= elapsed < 10
    assert "stuck on purpose" in str(caught.value)
    child = int(pid_file.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


async def test_paused_time_does_not_count_towards_a_stall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    _fake_program(bin_dir, "ffmpeg", "sleep 300\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    ctx = StandInContext()
    loop = asyncio.get_running_loop()

    async def pause_for_a_while() -> None:
        while not ctx.processes:
            await asyncio.sleep(0.01)
        ctx.set_paused(True)
        await asyncio.sleep(2.0)
        ctx.paused_seconds = 2.0
        ctx.set_paused(False)

    pauser = asyncio.create_task(pause_for_a_while())
    started = loop.time()
    with pytest.raises(FfmpegFailed, match="stalled"):
        await run_ffmpeg(ctx, ["ffmpeg"], duration=None, stall_timeout=1.0)
    await pauser
    # 2 s paused + 1 s stall: killed only after the pause ended.
    assert loop.time() - started >= 2.9


async def test_cancellation_kills_the_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    _fake_program(bin_dir, "ffmpeg", "sleep 300\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    ctx = StandInContext()
    task = asyncio.create_task(run_ffmpeg(ctx, ["ffmpeg"], duration=None, stall_timeout=60))
    async with asyncio.timeout(5):
        while not ctx.processes:
            await asyncio.sleep(0.01)
    pid = ctx.processes[0].pid
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
