"""kill -9 of the hub in the middle of a remux, then a restart: one verified output, source intact."""

# ruff: noqa: ASYNC220, ASYNC251

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_media import setup_media_hub
from media_fixtures import duration_of, ffprobe, make_video, temporaries

from streamops.core import Hub

HELPER = Path(__file__).with_name("helpers_media.py")


async def test_kill_9_during_remux_then_restart(tmp_path: Path) -> None:
    drive, config, data, bin_dir = (tmp_path / n for n in ("drive", "config", "data", "bin"))
    for folder in (drive, config, data, bin_dir):
        folder.mkdir()
    source = make_video(drive / "rec.mkv", duration=8, audio_tracks=2)
    before = source.read_bytes()
    # The real ffmpeg, paced at native speed (-re) so the kill lands while the temporary is written.
    wrapper = bin_dir / "ffmpeg"
    wrapper.write_text('#!/bin/sh\nexec /usr/bin/ffmpeg -re "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    payload = json.dumps({"input": str(source)})
    child = subprocess.Popen(
        [sys.executable, str(HELPER), str(config), str(data), str(drive), "--", "media.remux", payload],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    temp = drive / ".rec.streamops-tmp.mov"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if temp.exists() and temp.stat().st_size > 0:
            break
        if child.poll() is not None:
            pytest.fail(f"child exited early: {child.stdout.read().decode() if child.stdout else ''}")
        time.sleep(0.01)
    else:
        child.kill()
        pytest.fail("remux never started")
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert temp.exists() and not (drive / "rec.mov").exists()

    hub = Hub(config, data)
    try:
        await setup_media_hub(hub, [drive])
        from streamops.jobs import JOBS

        queue = hub.data[JOBS]
        jobs = await queue.list(job_type="media.remux")
        assert len(jobs) == 1
        row = await queue.wait(jobs[0]["id"], timeout=60)
        assert row["status"] == "done", row
    finally:
        await hub.async_stop()
    assert source.read_bytes() == before
    assert sorted(p.name for p in drive.iterdir()) == ["rec.mkv", "rec.mov"]
    assert temporaries(drive) == []
    assert len(ffprobe(drive / "rec.mov")["streams"]) == 3 and abs(duration_of(drive / "rec.mov") - 8) < 0.3
