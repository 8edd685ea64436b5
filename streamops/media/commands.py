"""ffmpeg command lines for every media operation, built with ffmpeg-python.

Each builder is pure: (job params, probe of the input) → a Plan with the exact argv, where it
writes, and what the output must look like to be kept. A dry run shows the same argv the job will
run. Paths are always absolute, so a file named `-y.mkv` or `concat:x` can never be read as an
option or a protocol; filter arguments (subtitle paths) are escaped by ffmpeg-python at both levels
(option value, then filtergraph), which tests/test_media_services.py checks with a hostile name.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from .encoders import Preset
from .outputs import temp_path_for
from .probe import MediaInfo

PROXY_MAX_HEIGHT = 1080
HOVER_HEIGHT = 360
HOVER_SECONDS = 6.0

CONTAINERS = {".mov": "mov", ".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".webm": "webm", ".ts": "mpegts"}


@dataclass
class Plan:
    """What one ffmpeg run will do."""

    argv: list[str]
    output: Path
    temp: Path | None
    streams: int | None = None
    duration: float | None = None
    progress_duration: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def container_for(path: Path) -> str:
    return CONTAINERS.get(path.suffix.lower(), "mov")


def even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _compile(stream: Any) -> list[str]:
    return list(ffmpeg.compile(stream, cmd="ffmpeg", overwrite_output=True))


def _require_video(info: MediaInfo, what: str) -> dict[str, Any]:
    from ..jobs.model import JobError

    video = info.video
    if video is None or not info.width or not info.height:
        raise JobError(f"{info.path} has no video stream; cannot make a {what}", retry=False)
    return video


def remux(info: MediaInfo, source: Path, output: Path) -> Plan:
    """The original blueprint's command: genpts, every stream, stream copy, faststart."""
    temp = temp_path_for(output)
    stream = ffmpeg.input(str(source), fflags="+genpts").output(
        str(temp), map="0", c="copy", movflags="+faststart", f=container_for(output)
    )
    return Plan(
        _compile(stream),
        output,
        temp,
        streams=len(info.streams),
        duration=info.duration,
        progress_duration=info.duration,
    )


def proxy_height(source_height: int, max_height: int = PROXY_MAX_HEIGHT) -> int:
    """Never upscale: the smaller of the source and the proxy height, made even."""
    return even(min(source_height, max_height))


def proxy(info: MediaInfo, source: Path, output: Path, codec: str, max_height: int = PROXY_MAX_HEIGHT) -> Plan:
    """DNxHR LB (4:2:2, PCM audio, MOV) for editing, or a light H.264 proxy."""
    _require_video(info, "proxy")
    temp = temp_path_for(output)
    height = proxy_height(info.height or max_height, max_height)
    src = ffmpeg.input(str(source))
    video = src["v:0"]
    if height != info.height or (info.width or 0) % 2:
        video = video.filter("scale", -2, height)
    if codec == "dnxhr_lb":
        out = ffmpeg.output(
            video,
            src["a?"],
            str(temp),
            vcodec="dnxhd",
            **{"profile:v": "dnxhr_lb"},
            pix_fmt="yuv422p",
            acodec="pcm_s16le",
            f=container_for(output),
        )
    else:
        out = ffmpeg.output(
            video,
            src["a?"],
            str(temp),
            vcodec="libx264",
            preset="veryfast",
            crf=23,
            pix_fmt="yuv420p",
            acodec="aac",
            **{"b:a": "160k"},
            movflags="+faststart",
            f=container_for(output),
        )
    return Plan(
        _compile(out),
        output,
        temp,
        streams=1 + len(info.audio),
        duration=info.duration,
        progress_duration=info.duration,
        extra={"height": height},
    )


def thumbnail(info: MediaInfo, source: Path, output: Path, at: float | None, width: int) -> Plan:
    _require_video(info, "thumbnail")
    temp = temp_path_for(output)
    when = at if at is not None else info.duration * 0.10
    when = max(0.0, min(when, max(0.0, info.duration - 0.1)))
    target_w = even(min(width, info.width or width))
    out = (
        ffmpeg.input(str(source), ss=f"{when:.3f}")["v:0"]
        .filter("scale", target_w, -2)
        .output(str(temp), vframes=1, **{"q:v": 3}, f="image2", update=1)
    )
    return Plan(_compile(out), output, temp, streams=1, extra={"time": round(when, 3), "width": target_w})


def sprite_layout(duration: float, interval: float, columns: int) -> tuple[int, int, int]:
    """(count, columns, rows): a cell every `interval` seconds from 0 up to (not past) the end."""
    # A cell in the last tenth of a second would show nothing new (containers pad audio past the video).
    count = max(1, math.ceil((duration - 0.1) / interval))
    cols = min(columns, count)
    return count, cols, math.ceil(count / cols)


def sprite(
    info: MediaInfo, source: Path, output: Path, interval: float, tile_width: int, columns: int, keyframes_only: bool
) -> Plan:
    """One JPEG sheet with a cell every `interval` seconds (keyframe-only decoding by default: fast)."""
    _require_video(info, "sprite sheet")
    temp = temp_path_for(output)
    count, cols, rows = sprite_layout(info.duration, interval, columns)
    tile_w = even(min(tile_width, info.width or tile_width))
    tile_h = even(tile_w * (info.height or 9) / (info.width or 16))
    inp = ffmpeg.input(str(source), **({"skip_frame": "nokey"} if keyframes_only else {}))
    out = (
        inp["v:0"]
        # eof_action=pass: a recording shorter than one interval still yields its first cell
        # (with the default, fps emits nothing and the job fails on "no output").
        .filter("fps", fps=f"1/{interval:g}", round="down", eof_action="pass")
        .filter("scale", tile_w, tile_h)
        .filter("tile", f"{cols}x{rows}")
        .output(str(temp), vframes=1, **{"q:v": 4}, f="image2", update=1)
    )
    return Plan(
        _compile(out),
        output,
        temp,
        streams=1,
        progress_duration=info.duration,
        extra={
            "count": count,
            "columns": cols,
            "rows": rows,
            "tile_width": tile_w,
            "tile_height": tile_h,
            "interval": interval,
        },
    )


def hover(info: MediaInfo, source: Path, output: Path, start: float | None, seconds: float = HOVER_SECONDS) -> Plan:
    """A short, silent, 360p loop with a keyframe every 6 frames: cheap to scrub and to loop."""
    _require_video(info, "hover preview")
    temp = temp_path_for(output)
    length = min(seconds, info.duration)
    begin = start if start is not None else info.duration * 0.10
    begin = max(0.0, min(begin, info.duration - length))
    height = even(min(HOVER_HEIGHT, info.height or HOVER_HEIGHT))
    fps = min(30.0, info.fps or 30.0)
    out = (
        ffmpeg.input(str(source), ss=f"{begin:.3f}", t=f"{length:.3f}")["v:0"]
        .filter("fps", fps=f"{fps:g}")
        .filter("scale", -2, height)
        .output(
            str(temp),
            vcodec="libx264",
            preset="veryfast",
            crf=28,
            g=6,
            keyint_min=6,
            sc_threshold=0,
            pix_fmt="yuv420p",
            an=None,
            movflags="+faststart",
            f="mp4",
        )
    )
    return Plan(
        _compile(out),
        output,
        temp,
        streams=1,
        duration=length,
        progress_duration=length,
        extra={"start": round(begin, 3), "height": height},
    )


def waveform_pcm(info: MediaInfo, source: Path, sample_rate: int) -> Plan:
    """Decode the first audio track to mono s16le on stdout (the peaks are computed in Python)."""
    from ..jobs.model import JobError

    if not info.audio:
        raise JobError(f"{info.path} has no audio stream; cannot draw a waveform", retry=False)
    out = ffmpeg.input(str(source))["a:0"].output("pipe:1", ac=1, ar=sample_rate, acodec="pcm_s16le", f="s16le")
    return Plan(_compile(out), Path("pipe:1"), None, progress_duration=info.duration)


def transcode(
    info: MediaInfo, source: Path, output: Path, preset: Preset, quality: int | None, audio_bitrate: str
) -> Plan:
    _require_video(info, "transcode")
    temp = temp_path_for(output)
    src = ffmpeg.input(str(source))
    args = dict(preset.args)
    if quality is not None and preset.crf_key:
        args[preset.crf_key] = quality
    fmt = container_for(output)
    options: dict[str, Any] = {
        "vcodec": preset.encoder,
        "pix_fmt": preset.pix_fmt,
        "acodec": "aac",
        "b:a": audio_bitrate,
        "f": fmt,
        **args,
    }
    if fmt in ("mp4", "mov"):
        options["movflags"] = "+faststart"
    out = ffmpeg.output(src["v:0"], src["a?"], str(temp), **options)
    return Plan(
        _compile(out),
        output,
        temp,
        streams=1 + len(info.audio),
        duration=info.duration,
        progress_duration=info.duration,
        extra={"encoder": preset.encoder, "preset": preset.name},
    )


def clip_copy(info: MediaInfo, source: Path, output: Path, start: float, end: float) -> Plan:
    """Lossless cut; `start`/`end` must already be snapped to keyframes by the caller."""
    temp = temp_path_for(output)
    length = max(0.0, end - start)
    out = ffmpeg.input(str(source), ss=f"{start:.6f}", t=f"{length:.6f}").output(
        str(temp),
        map="0",
        c="copy",
        avoid_negative_ts="make_zero",
        f=container_for(output),
        **({"movflags": "+faststart"} if container_for(output) in ("mov", "mp4") else {}),
    )
    return Plan(_compile(out), output, temp, streams=len(info.streams), duration=length, progress_duration=length)


def clip_accurate(info: MediaInfo, source: Path, output: Path, start: float, end: float) -> Plan:
    """Frame-accurate cut (re-encodes video with x264, audio with AAC)."""
    temp = temp_path_for(output)
    length = max(0.0, end - start)
    src = ffmpeg.input(str(source), ss=f"{start:.6f}", t=f"{length:.6f}")
    fmt = container_for(output)
    out = ffmpeg.output(
        src["v:0"],
        src["a?"],
        str(temp),
        vcodec="libx264",
        preset="fast",
        crf=18,
        pix_fmt="yuv420p",
        acodec="aac",
        **{"b:a": "192k"},
        f=fmt,
        **({"movflags": "+faststart"} if fmt in ("mov", "mp4") else {}),
    )
    return Plan(_compile(out), output, temp, streams=1 + len(info.audio), duration=length, progress_duration=length)


def crop_x_expression(points: list[tuple[float, float]]) -> str:
    """Piecewise-linear x(t) through (time, x) points as an ffmpeg expression (nested if)."""
    if not points:
        return "0"
    if len(points) == 1:
        return f"{points[0][1]:.1f}"
    expr = f"{points[-1][1]:.1f}"
    for (t0, x0), (t1, x1) in reversed(list(itertools.pairwise(points))):
        span = max(1e-3, t1 - t0)
        segment = f"{x0:.1f}+({x1 - x0:.1f})*(t-{t0:.3f})/{span:.3f}"
        expr = f"if(lt(t,{t1:.3f}),{segment},{expr})"
    return f"if(lt(t,{points[0][0]:.3f}),{points[0][1]:.1f},{expr})"


def social(
    info: MediaInfo,
    source: Path,
    output: Path,
    *,
    start: float,
    end: float,
    crop_w: int,
    crop_h: int,
    crop_y: int,
    x_points: list[tuple[float, float]],
    out_w: int,
    out_h: int,
    subtitles: Path | None,
    caption_style: str,
) -> Plan:
    """Crop a moving window out of the frame, scale to the target format, optionally burn captions."""
    temp = temp_path_for(output)
    length = max(0.0, end - start)
    src = ffmpeg.input(str(source), ss=f"{start:.6f}", t=f"{length:.6f}")
    video = src["v:0"].filter("crop", crop_w, crop_h, crop_x_expression(x_points), crop_y)
    video = video.filter("scale", out_w, out_h).filter("setsar", 1)
    if subtitles is not None:
        # Subtitle times are relative to the recording, frame times to the clip: shift and back.
        video = video.filter("setpts", f"PTS+{start:.6f}/TB")
        # ffmpeg-python escapes both levels (option value, then filtergraph) itself: pass the raw path.
        video = video.filter("subtitles", filename=str(subtitles), force_style=caption_style)
        video = video.filter("setpts", f"PTS-{start:.6f}/TB")
    out = ffmpeg.output(
        video,
        src["a:0?"],
        str(temp),
        vcodec="libx264",
        preset="medium",
        crf=20,
        pix_fmt="yuv420p",
        acodec="aac",
        **{"b:a": "192k"},
        movflags="+faststart",
        f="mp4",
    )
    return Plan(
        _compile(out), output, temp, streams=1 + min(1, len(info.audio)), duration=length, progress_duration=length
    )
