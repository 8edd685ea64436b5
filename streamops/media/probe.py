"""ffprobe as a library: what a media file holds, and where its keyframes are.

Every output is probed before it is kept, and every input before a command is built (proxy size,
stream count, duration for progress), so this is the one place that talks to ffprobe.
"""

# ruff: noqa: ASYNC240 - stat()/exists() on local paths are microseconds; data moves in ffmpeg or threads

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..jobs.model import JobError
from .ffmpeg_runner import find_binary, terminate_process_group

PROBE_TIMEOUT = 60.0


class ProbeError(JobError):
    """The file is missing, empty or not media ffprobe can read (retrying will not help)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry=False)


@dataclass
class MediaInfo:
    path: str
    duration: float
    size: int
    format_name: str
    bit_rate: int | None
    streams: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, Any] = field(default_factory=dict)
    start_time: float = 0.0

    @property
    def video(self) -> dict[str, Any] | None:
        """The first real video stream (cover art / attached pictures do not count)."""
        for stream in self.streams:
            if stream.get("codec_type") == "video" and not stream.get("disposition", {}).get("attached_pic"):
                return stream
        return None

    @property
    def audio(self) -> list[dict[str, Any]]:
        return [s for s in self.streams if s.get("codec_type") == "audio"]

    @property
    def width(self) -> int | None:
        return int(self.video["width"]) if self.video and self.video.get("width") else None

    @property
    def height(self) -> int | None:
        return int(self.video["height"]) if self.video and self.video.get("height") else None

    @property
    def fps(self) -> float | None:
        video = self.video
        if not video:
            return None
        for key in ("avg_frame_rate", "r_frame_rate"):
            rate = video.get(key)
            if rate and rate not in ("0/0", "0"):
                try:
                    value = float(Fraction(rate))
                except (ValueError, ZeroDivisionError):
                    continue
                if value > 0:
                    return value
        return None

    @property
    def average_bit_rate(self) -> int | None:
        if self.bit_rate:
            return self.bit_rate
        return int(self.size * 8 / self.duration) if self.duration > 0 else None

    def summary(self) -> dict[str, Any]:
        """Compact, JSON-ready description (job results, sidecars)."""
        streams = []
        for s in self.streams:
            item: dict[str, Any] = {"index": s.get("index"), "type": s.get("codec_type"), "codec": s.get("codec_name")}
            if s.get("codec_type") == "video":
                item.update(width=s.get("width"), height=s.get("height"), pix_fmt=s.get("pix_fmt"))
                rate = s.get("avg_frame_rate")
                if rate and rate != "0/0":
                    item["fps"] = round(float(Fraction(rate)), 3)
            elif s.get("codec_type") == "audio":
                item.update(sample_rate=_int(s.get("sample_rate")), channels=s.get("channels"))
            if s.get("bit_rate"):
                item["bit_rate"] = _int(s.get("bit_rate"))
            streams.append(item)
        return {
            "duration": round(self.duration, 3),
            "size": self.size,
            "format": self.format_name,
            "bit_rate": self.average_bit_rate,
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 3) if self.fps else None,
            "streams": streams,
        }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _run_probe(args: list[str], timeout: float = PROBE_TIMEOUT) -> tuple[int, bytes, bytes]:
    binary = find_binary("ffprobe")
    proc = await asyncio.create_subprocess_exec(
        binary,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except BaseException:
        await terminate_process_group(proc, grace=1.0)
        raise
    return proc.returncode or 0, out, err


async def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Probe a file; missing, empty or unreadable files raise ProbeError naming the file and cause."""
    target = Path(path)
    try:
        size = target.stat().st_size
    except FileNotFoundError:
        raise ProbeError(f"media file not found: {target}") from None
    except OSError as err:
        raise ProbeError(f"cannot read {target}: {err.strerror or err}") from None
    if size == 0:
        raise ProbeError(f"{target} is empty (0 bytes)")
    try:
        code, out, err = await _run_probe(
            ["-v", "error", "-show_format", "-show_streams", "-of", "json", str(target.absolute())]
        )
    except TimeoutError:
        raise ProbeError(f"ffprobe timed out reading {target}") from None
    message = err.decode("utf-8", "replace").strip().splitlines()
    if code != 0:
        raise ProbeError(f"{target} is not readable media: {' | '.join(message[-3:]) or f'ffprobe exit {code}'}")
    try:
        data = json.loads(out)
    except ValueError:
        raise ProbeError(f"ffprobe returned garbage for {target}") from None
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    if not streams:
        raise ProbeError(f"{target} has no audio or video streams")
    duration = _float(fmt.get("duration"))
    if duration is None:
        durations = [_float(s.get("duration")) for s in streams]
        duration = max((d for d in durations if d is not None), default=0.0)
    return MediaInfo(
        path=str(target),
        duration=duration or 0.0,
        size=size,
        format_name=str(fmt.get("format_name", "")),
        bit_rate=_int(fmt.get("bit_rate")),
        streams=streams,
        tags=fmt.get("tags") or {},
        start_time=_float(fmt.get("start_time")) or 0.0,
    )


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


async def keyframe_times(path: str | os.PathLike[str], start: float, end: float) -> list[float]:
    """Presentation times of video keyframes between start and end (reads packets, no decoding)."""
    interval = f"{max(0.0, start)}%{end}"
    code, out, err = await _run_probe(
        [
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-read_intervals",
            interval,
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
            str(Path(path).absolute()),
        ]
    )
    if code != 0:
        raise ProbeError(f"cannot read keyframes of {path}: {err.decode('utf-8', 'replace').strip()[-300:]}")
    times = []
    for line in out.decode().splitlines():
        pts, _, flags = line.partition(",")
        if "K" in flags:
            value = _float(pts)
            if value is not None:
                times.append(value)
    return sorted(set(times))


def expected_duration_tolerance(duration: float, fps: float | None = None) -> float:
    """How far an output's duration may differ from the expected one and still count as complete.

    Half a second or 1 %, whichever is larger, plus two frames: container rounding and the
    audio/video end mismatch stay inside it, a truncated output does not.
    """
    frames = 2.0 / fps if fps else 0.1
    return max(0.5, duration * 0.01) + frames
