"""Golden media made by ffmpeg at test time (lavfi testsrc2 + sine, colour hard cuts at known times).

Nothing is downloaded; every file is small and generated in well under a second. Import these from
tests; they are plain functions so benchmarks can use them too.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

FFMPEG = "/usr/bin/ffmpeg"
FFPROBE = "/usr/bin/ffprobe"


def run(args: list[str]) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def make_video(
    path: Path,
    *,
    duration: float = 4.0,
    size: str = "320x240",
    rate: int = 25,
    audio_tracks: int = 1,
    gop: int | None = None,
    vcodec: str = "libx264",
    extra: list[str] | None = None,
) -> Path:
    """testsrc2 video (+ sine audio tracks), H.264 ultrafast; `gop` fixes the keyframe interval."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={duration}"]
    for index in range(audio_tracks):
        args += ["-f", "lavfi", "-i", f"sine=frequency={440 + 110 * index}:sample_rate=48000:duration={duration}"]
    args += ["-map", "0:v"]
    for index in range(audio_tracks):
        args += ["-map", f"{index + 1}:a"]
    args += ["-c:v", vcodec, "-pix_fmt", "yuv420p"]
    if vcodec == "libx264":
        args += ["-preset", "ultrafast"]
    if gop:
        args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    if audio_tracks:
        args += ["-c:a", "aac", "-b:a", "96k"]
    args += [*(extra or []), str(path)]
    run(args)
    return path


def make_cuts_video(
    path: Path, colours: list[str], seconds: float = 2.0, size: str = "320x240", rate: int = 25
) -> Path:
    """Hard cuts between solid colours (with a moving test pattern on top) every `seconds` seconds.

    Returns the path; the cuts are at seconds, 2*seconds, ... (exactly on frame boundaries).
    """
    inputs: list[str] = []
    filters = []
    for index, colour in enumerate(colours):
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:size={size}:rate={rate}:duration={seconds}"]
        filters.append(f"[{index}:v]")
    graph = "".join(filters) + f"concat=n={len(colours)}:v=1:a=0[v]"
    total = seconds * len(colours)
    inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={total}"]
    run(
        [
            *inputs,
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-map",
            f"{len(colours)}:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            str(path),
        ]
    )
    return path


def make_loud_bursts_video(path: Path, duration: float, bursts: list[float], size: str = "320x240") -> Path:
    """Quiet tone with loud 0.5 s bursts starting at the given times (for audio-peak candidates)."""
    volume = "+".join(f"between(t,{t},{t + 0.5})*0.95" for t in bursts) or "0"
    expr = f"(0.02+{volume})*sin(2*PI*440*t)"
    run(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25:duration={duration}",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='{expr}':s=48000:d={duration}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
            str(path),
        ]
    )
    return path


def make_corrupt(path: Path, size: int = 200_000) -> Path:
    """Random bytes with a media-like name: ffprobe cannot read it."""
    path.write_bytes(os.urandom(size))
    return path


def make_truncated(source: Path, path: Path, keep: float = 0.3) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return json.loads(out)


def duration_of(path: Path) -> float:
    return float(ffprobe(path)["format"]["duration"])


def video_stream(path: Path) -> dict[str, Any]:
    return next(s for s in ffprobe(path)["streams"] if s["codec_type"] == "video")


def keyframes(path: Path) -> list[float]:
    out = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(float(p) for p, _, f in (line.partition(",") for line in out.splitlines()) if "K" in f)


def first_frame_is_keyframe(path: Path) -> bool:
    out = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return bool(out) and "K" in out[0]


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".streamops-tmp" in p.name]
