"""Scene detection speed on 1080p: media.scenes vs PySceneDetect's CLI defaults on the same file.

Baseline: `scenedetect -i FILE detect-content` (OpenCV decoding, auto-downscale to ~256 px wide,
ContentDetector threshold 27), timed as a whole process. StreamOps: the `media.scenes` job's video
pass (ffmpeg multi-threaded decode + scale to the same 256 px width, the same ContentDetector on a
worker thread); audio analysis is switched off so both do the same work. Both must find the same cuts.
Run: .venv/bin/python benchmarks/bench_scenes.py [--seconds 20]
"""

# ruff: noqa: ASYNC221, ASYNC240 - a benchmark times blocking baselines (cp, bare ffmpeg) on purpose

from __future__ import annotations

import argparse
import asyncio
import shutil
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

CACHE = Path("/tmp/streamops-bench")


def cuts_video(seconds: int) -> Path:
    """1080p60 testsrc2 with a hard cut to a hue-rotated copy every 4 s (cached)."""
    path = CACHE / f"cuts1080p60_{seconds}s.mp4"
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
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
            "-vf",
            "hue=h='180*mod(floor(t/4),2)'",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    video = cuts_video(args.seconds)
    frames = args.seconds * 60
    work = Path(tempfile.mkdtemp(prefix="bench-scenes-"))
    cli = shutil.which("scenedetect") or str(Path(sys.executable).with_name("scenedetect"))
    started = time.perf_counter()
    subprocess.run(
        [cli, "-q", "-i", str(video), "-o", str(work), "detect-content", "list-scenes", "-q"],
        check=True,
        capture_output=True,
    )
    cli_seconds = time.perf_counter() - started
    hub = Hub(work, work)
    try:
        await setup_media_hub(hub, [video.parent])
        started = time.perf_counter()
        result = await hub.services.async_call(
            "media", "scenes", {"input": str(video), "audio": False}, return_response=True
        )
        ours = time.perf_counter() - started
    finally:
        await hub.async_stop()
    assert result is not None
    csv = next(work.glob("*-Scenes.csv"), None)
    cli_cuts = 0
    if csv is not None:
        cli_cuts = max(0, len(csv.read_text().splitlines()) - 2 - 1)
    shutil.rmtree(work, ignore_errors=True)
    print(f"file: {video.name}, {frames} frames 1080p60, expected cuts every 4 s")
    print(
        f"scenedetect CLI defaults   {cli_seconds:6.2f} s  {frames / cli_seconds:7.1f} fps (whole process)  "
        f"cuts: {cli_cuts}"
    )
    print(
        f"media.scenes (service+job) {ours:6.2f} s  {frames / ours:7.1f} fps  cuts: {len(result['cuts'])} "
        f"{result['cuts']}"
    )
    print(f"speed-up vs CLI: {cli_seconds / ours:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
