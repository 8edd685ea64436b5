"""What a media file contains: ffprobe for the facts, a container walk for truncation.

ffprobe runs as an argv list (never a shell), with stdin closed, a timeout, and the path given as
`file:<path>` so a name that looks like a protocol or an option is still just a file. ffprobe
happily reports the *header's* duration for a Matroska file cut in half, so a cheap structural
check follows: the Matroska segment size, or the MP4/MOV top-level boxes, must fit in the file.
Every failure becomes a `ProbeError` with a message meant for the user; nothing here raises anything
else for bad media.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

FFPROBE = shutil.which("ffprobe") or "ffprobe"

_STREAM_FIELDS = (
    "index", "codec_type", "codec_name", "profile", "width", "height", "pix_fmt", "avg_frame_rate",
    "r_frame_rate", "sample_rate", "channels", "channel_layout", "bit_rate", "duration", "nb_frames",
)  # fmt: skip


class ProbeError(Exception):
    """The file is not usable media; the message says why (shown as the asset's error)."""


@dataclass
class MediaInfo:
    duration: float | None = None
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bit_rate: int | None = None
    streams: list[dict[str, Any]] = field(default_factory=list)


def ffprobe_command(path: str, ffprobe: str = FFPROBE) -> list[str]:
    return [ffprobe, "-v", "error", "-hide_banner", "-print_format", "json", "-show_format", "-show_streams",
            f"file:{path}"]  # fmt: skip


def _ratio(text: Any) -> float | None:
    try:
        num, _, den = str(text).partition("/")
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return round(value, 3) if value > 0 else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number >= 0 else None  # NaN → None


def _container(format_name: str, path: str) -> str:
    """'matroska,webm' for x.mkv → 'matroska'; 'mov,mp4,m4a,…' for x.mp4 → 'mp4'."""
    names = [name for name in format_name.split(",") if name]
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in names:
        return ext
    if ext == "mkv" and "matroska" in names:
        return "matroska"
    return names[0] if names else format_name


def parse_ffprobe(data: dict[str, Any], path: str) -> MediaInfo:
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    info = MediaInfo(
        container=_container(str(fmt.get("format_name", "")), path) or None,
        duration=_float(fmt.get("duration")),
        bit_rate=_int(fmt.get("bit_rate")),
    )
    for stream in streams:
        kept = {key: stream[key] for key in _STREAM_FIELDS if key in stream}
        tags = stream.get("tags") or {}
        kept.update({key: tags[key] for key in ("language", "title") if key in tags})
        info.streams.append(kept)
        kind = stream.get("codec_type")
        attached_pic = (stream.get("disposition") or {}).get("attached_pic") == 1
        if kind == "video" and info.video_codec is None and not attached_pic:
            info.video_codec = stream.get("codec_name")
            info.width, info.height = _int(stream.get("width")), _int(stream.get("height"))
            info.fps = _ratio(stream.get("avg_frame_rate")) or _ratio(stream.get("r_frame_rate"))
        elif kind == "audio" and info.audio_codec is None:
            info.audio_codec = stream.get("codec_name")
    if info.duration is None:
        durations = [d for d in (_float(s.get("duration")) for s in streams) if d is not None]
        info.duration = max(durations) if durations else None
    if not any(s.get("codec_type") in ("video", "audio") for s in streams):
        raise ProbeError(f"no audio or video streams (ffprobe sees format {fmt.get('format_name', 'unknown')})")
    return info


async def run_ffprobe(path: str, timeout: float = 60.0, ffprobe: str = FFPROBE) -> MediaInfo:
    try:
        process = await asyncio.create_subprocess_exec(
            *ffprobe_command(path, ffprobe),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as err:
        raise ProbeError(f"cannot run ffprobe ({err})") from err
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError as err:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise ProbeError(f"ffprobe took longer than {timeout:g} s") from err
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        raise
    if process.returncode != 0:
        lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        message = lines[-1] if lines else f"ffprobe exit code {process.returncode}"
        # "file:/x/y.mkv: Invalid data found when processing input" → without the echoed path.
        prefix = f"file:{path}: "
        message = message[len(prefix) :] if message.startswith(prefix) else message
        raise ProbeError(f"not a readable media file: {message}")
    try:
        data = json.loads(stdout or b"{}")
    except ValueError as err:
        raise ProbeError(f"ffprobe printed no JSON ({err})") from err
    return parse_ffprobe(data, path)


# -- truncation checks ---------------------------------------------------------------------------
def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int | None, int]:
    """An EBML variable-length integer at `pos` → (value or None for 'unknown', length)."""
    first = data[pos]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        length += 1
        mask >>= 1
    if length > 8 or pos + length > len(data):
        raise ValueError("bad EBML integer")
    value = first if keep_marker else first & (mask - 1)
    all_ones = (first & (mask - 1)) == mask - 1
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
        all_ones = all_ones and byte == 0xFF
    return (None if (all_ones and not keep_marker) else value), length


def _check_matroska(head: bytes, size: int) -> str | None:
    pos = 0
    ebml_id, length = _vint(head, pos, True)
    if ebml_id != 0x1A45DFA3:
        return None
    pos += length
    header_size, length = _vint(head, pos, False)
    if header_size is None:
        return None
    pos += length + header_size
    if pos >= len(head):
        return None
    segment_id, length = _vint(head, pos, True)
    if segment_id != 0x18538067:
        return None
    pos += length
    segment_size, length = _vint(head, pos, False)
    pos += length
    if segment_size is not None and pos + segment_size > size:
        return f"truncated: Matroska segment needs {pos + segment_size} bytes, the file has {size}"
    return None


def _check_isobmff(path: str, size: int) -> str | None:
    """Walk MP4/MOV top-level boxes; one reaching past the end of the file means truncation."""
    offset = 0
    seen: list[str] = []
    with open(path, "rb") as handle:
        while offset < size:
            handle.seek(offset)
            header = handle.read(16)
            if len(header) < 8:
                return f"truncated: {size - offset} stray bytes after the last MP4 box"
            box_size = int.from_bytes(header[:4], "big")
            kind = header[4:8].decode("latin-1")
            if box_size == 1:
                if len(header) < 16:
                    return "truncated inside an MP4 box header"
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8:
                return f"damaged: MP4 box {kind!r} at byte {offset} has size {box_size}"
            seen.append(kind)
            if offset + box_size > size:
                return f"truncated: MP4 box {kind!r} ends at byte {offset + box_size}, the file has {size}"
            offset += box_size
            if len(seen) > 10_000:
                return None
    if "moov" not in seen:
        return "incomplete: no 'moov' box (the recording was not finalised)"
    return None


def check_container(path: str, size: int) -> str | None:
    """Blocking structural check; a message when the file is cut short, else None (also when unsure)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
        if head[:4] == b"\x1a\x45\xdf\xa3":
            with open(path, "rb") as handle:
                head = handle.read(4096)
            return _check_matroska(head, size)
        if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
            return _check_isobmff(path, size)
    except (OSError, ValueError, IndexError):
        return None
    return None
