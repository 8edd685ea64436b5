"""Remux of a 1080p60 recording (>= 500 MB): ffmpeg vs `cp`, and the whole service→job→remux path vs bare ffmpeg.

Baselines measured in the same run on the same page-cached file: `cp` (the physical floor for
writing a file of that size) and the bare ffmpeg command the job runs (same argv, run by hand).
The StreamOps figure is `media.remux` called as an automation would: validation, job journal in
SQLite, supervised ffmpeg with -progress parsing, ffprobe verification and atomic rename.
The recording is generated once (x264 ultrafast, high bitrate) and cached in /tmp.
Run: .venv/bin/python benchmarks/bench_remux.py [--seconds 45] [--rounds 3]
"""

# ruff: noqa: ASYNC221 - a benchmark times blocking baselines (cp, bare ffmpeg) on purpose

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers_media import setup_media_hub  # noqa: E402

from streamops.core import Hub  # noqa: E402
from streamops.media import commands  # noqa: E402
from streamops.media.probe import probe  # noqa: E402

CACHE = Path("/tmp/streamops-bench")


def recording(seconds: int) -> Path:
    path = CACHE / f"rec1080p60_{seconds}s.mkv"
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
    print(f"generating {path} (once) ...", flush=True)
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1920x1080:rate=60:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "100M",
            "-maxrate",
            "100M",
            "-bufsize",
            "200M",
            "-g",
            "120",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            str(path),
        ],
        check=True,
    )
    return path


def timed(func) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=55)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source_cached = recording(args.seconds)
    work = Path(tempfile.mkdtemp(prefix="bench-remux-", dir="/var/tmp"))
    drive = work / "drive"
    drive.mkdir()
    source = drive / "rec.mkv"
    shutil.copyfile(source_cached, source)
    size_mb = source.stat().st_size / 1e6
    subprocess.run(["cat", str(source)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    output = drive / "rec.mov"
    info = await probe(source)
    argv = commands.remux(info, source, output).argv
    bare = [shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *argv[1:]]

    def bare_durable() -> None:
        subprocess.run(bare, check=True)
        fd = os.open(commands.temp_path_for(output), os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)

    cp, ff, ffsync, svc = [], [], [], []
    hub = Hub(work / "config", work / "data")
    (work / "config").mkdir()
    (work / "data").mkdir()
    from streamops import recorder

    await recorder.async_setup(hub, recorder.CONFIG_SCHEMA({}))
    hub.config.components.add("recorder")
    await setup_media_hub(hub, [drive])
    try:
        for _ in range(args.rounds):
            cp.append(timed(lambda: subprocess.run(["cp", str(source), str(drive / "copy.mkv")], check=True)))
            os.unlink(drive / "copy.mkv")
            ff.append(timed(lambda: subprocess.run(bare, check=True)))
            os.unlink(commands.temp_path_for(output))  # the bare command writes the temp name
            ffsync.append(timed(bare_durable))
            os.unlink(commands.temp_path_for(output))
            started = time.perf_counter()
            result = await hub.services.async_call("media", "remux", {"input": str(source)}, return_response=True)
            svc.append(time.perf_counter() - started)
            assert result and result["output"] == str(output)
            os.unlink(output)
    finally:
        await hub.async_stop()
        shutil.rmtree(work, ignore_errors=True)
    m_cp, m_ff, m_sync, m_svc = (statistics.median(x) for x in (cp, ff, ffsync, svc))
    print(f"file: {size_mb:.0f} MB 1080p60 H.264 MKV, {args.rounds} rounds, medians, warm page cache")
    print(f"cp                      {m_cp:6.2f} s  {size_mb / m_cp:7.0f} MB/s")
    print(f"bare ffmpeg remux       {m_ff:6.2f} s  {size_mb / m_ff:7.0f} MB/s   ratio vs cp: {m_ff / m_cp:.2f}x")
    print(f"bare ffmpeg + fsync     {m_sync:6.2f} s  {size_mb / m_sync:7.0f} MB/s   ratio vs cp: {m_sync / m_cp:.2f}x")
    print(
        f"media.remux (job+verify){m_svc:6.2f} s  {size_mb / m_svc:7.0f} MB/s   ratio vs bare ffmpeg: "
        f"{m_svc / m_ff:.3f}x (overhead {100 * (m_svc / m_ff - 1):+.1f} %)"
    )
    print(
        f"  vs bare ffmpeg + fsync (durable baseline; media.remux fsyncs only before deleting a source): "
        f"{m_svc / m_sync:.3f}x (overhead {100 * (m_svc / m_sync - 1):+.1f} %)"
    )


if __name__ == "__main__":
    asyncio.run(main())
