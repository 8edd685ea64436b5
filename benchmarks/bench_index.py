"""Asset indexing: 10,000 small generated media files, then an incremental rescan with nothing changed.

ONE tiny clip is made with ffmpeg (lavfi testsrc2 + sine) and copied under 10,000 names with a few
varied bytes appended, so every file has its own hash (and ffprobe still reads it as media).

Reported: files/s for the full index and for the rescan, peak RSS of this process (ffprobe children
reported separately), and baselines measured in the same run:
- bare ffprobe on a sample of the same files at the same concurrency (the floor of a full index:
  ratio = how much hashing, sidecars, SQLite and FTS add on top);
- rescan vs full index (ratio = how much cheaper "nothing changed" is).
Run: .venv/bin/python benchmarks/bench_index.py [--files 10000] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamops.assets import ASSETS, CONFIG_SCHEMA, register_drive_root
from streamops.assets import async_setup as assets_setup
from streamops.assets.probe import ffprobe_command
from streamops.core import Hub
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import async_setup as recorder_setup


def make_files(folder: Path, count: int) -> int:
    clip = folder / "seed.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.5",
         "-f", "lavfi", "-i", "sine=duration=0.5", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
         str(clip)],
        check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    data = clip.read_bytes()
    media = folder / "drive"
    for index in range(count):
        sub = media / f"day{index // 500:03d}"
        if index % 500 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"clip {index:05d}.mkv").write_bytes(data + index.to_bytes(4, "little"))
    clip.unlink()
    return len(data)


class PeakRss:
    """Samples this process's RSS every 50 ms (ru_maxrss also counts the start-up, so both are shown)."""

    def __init__(self) -> None:
        self.peak = 0
        self._proc = psutil.Process()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self._proc.memory_info().rss)
            await asyncio.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self.peak = self._proc.memory_info().rss
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, self._proc.memory_info().rss)


async def bare_ffprobe(paths: list[Path], concurrency: int) -> float:
    queue = list(paths)

    async def worker() -> None:
        while queue:
            path = queue.pop()
            proc = await asyncio.create_subprocess_exec(
                *ffprobe_command(str(path)), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            await proc.wait()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(paths) / (time.perf_counter() - start)


async def main(files: int, concurrency: int | None) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        size = make_files(root, files)
        print(f"generated {files} files of ~{size} bytes in {time.perf_counter() - started:.1f} s")
        drive = (root / "drive").resolve()
        hub = Hub(root / "config", root / "data")
        assert await recorder_setup(hub, RECORDER_SCHEMA({}))
        hub.config.allowed_dirs.append(drive)
        register_drive_root(hub, "bench", drive)
        options = {} if concurrency is None else {"concurrency": concurrency}
        config = CONFIG_SCHEMA(options)
        assert await assets_setup(hub, config)
        index = hub.data[ASSETS]
        workers = config["concurrency"]
        print(f"cpu count {os.cpu_count()}, index concurrency {workers}")

        sample = sorted(drive.rglob("*.mkv"))[: min(300, files)]
        probe_rate = await bare_ffprobe(sample, workers)

        with PeakRss() as rss_full:
            start = time.perf_counter()
            summary = await index.index(str(drive))
            full_s = time.perf_counter() - start
        assert summary["indexed"] == files and summary["errors"] == 0, summary
        with PeakRss() as rss_rescan:
            start = time.perf_counter()
            again = await index.index(str(drive))
            rescan_s = time.perf_counter() - start
        assert again["skipped"] == files and again["indexed"] == 0, again
        dupes = await index.duplicates()
        assert dupes["groups"] == [], "appended bytes must make every hash distinct"
        await hub.async_stop()

        full_rate, rescan_rate = files / full_s, files / rescan_s
        mib = 1024 * 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        print(f"bare ffprobe baseline ({len(sample)} files): {probe_rate:8.1f} files/s")
        print(f"full index   {files} files: {full_s:8.1f} s  {full_rate:8.1f} files/s", end="")
        print(f"  peak RSS {rss_full.peak / mib:.0f} MiB")
        print(f"rescan       {files} files: {rescan_s:8.2f} s  {rescan_rate:8.1f} files/s", end="")
        print(f"  peak RSS {rss_rescan.peak / mib:.0f} MiB")
        print(f"ffprobe child peak RSS: {children / mib:.0f} MiB")
        print(f"ratio full index / bare ffprobe: {full_rate / probe_rate:.2f}")
        print(f"ratio rescan / full index: {rescan_rate / full_rate:.0f}x faster")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.files, args.concurrency))
