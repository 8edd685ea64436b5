"""Which encoders this ffmpeg really has, and the named transcode presets built on them.

`ffmpeg -encoders` lists NVENC/QSV in most distribution builds even on machines without the
hardware, so a hardware encoder counts only after a one-frame test encode succeeds. Results are
cached for the life of the process (hardware does not appear while the hub runs).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from ..jobs.model import JobError
from .ffmpeg_runner import find_binary, terminate_process_group

_LOGGER = logging.getLogger(__name__)

_listed: set[str] | None = None
_working: dict[str, bool] = {}
_lock = asyncio.Lock()


@dataclass(frozen=True)
class Preset:
    name: str
    encoder: str
    args: dict[str, Any]
    resource: str = "cpu"
    pix_fmt: str = "yuv420p"
    container: str = "mp4"
    crf_key: str | None = "crf"
    hardware: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "x264": Preset("x264", "libx264", {"preset": "medium", "crf": 20}),
    "x265": Preset("x265", "libx265", {"preset": "medium", "crf": 24, "tag:v": "hvc1"}),
    "svtav1": Preset("svtav1", "libsvtav1", {"preset": 8, "crf": 35}, pix_fmt="yuv420p"),
    "aom_av1": Preset("aom_av1", "libaom-av1", {"cpu-used": 6, "row-mt": 1, "crf": 32, "b:v": 0}),
    "rav1e": Preset("rav1e", "librav1e", {"speed": 8, "qp": 100}, crf_key="qp"),
    "nvenc_h264": Preset(
        "nvenc_h264", "h264_nvenc", {"preset": "p5", "rc": "vbr", "cq": 21}, "gpu", crf_key="cq", hardware=True
    ),
    "nvenc_hevc": Preset(
        "nvenc_hevc",
        "hevc_nvenc",
        {"preset": "p5", "rc": "vbr", "cq": 24, "tag:v": "hvc1"},
        "gpu",
        crf_key="cq",
        hardware=True,
    ),
    "qsv_h264": Preset(
        "qsv_h264",
        "h264_qsv",
        {"preset": "medium", "global_quality": 22},
        "gpu",
        "nv12",
        crf_key="global_quality",
        hardware=True,
    ),
    "qsv_hevc": Preset(
        "qsv_hevc",
        "hevc_qsv",
        {"preset": "medium", "global_quality": 24, "tag:v": "hvc1"},
        "gpu",
        "nv12",
        crf_key="global_quality",
        hardware=True,
    ),
}

# A family name picks the first working encoder in this order (hardware first: it is faster and
# leaves the CPU to OBS).
FAMILIES: dict[str, tuple[str, ...]] = {
    "h264": ("nvenc_h264", "qsv_h264", "x264"),
    "hevc": ("nvenc_hevc", "qsv_hevc", "x265"),
    "av1": ("svtav1", "aom_av1", "rav1e"),
}

PRESET_NAMES = tuple(FAMILIES) + tuple(PRESETS)


async def _run(args: list[str], timeout: float) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        find_binary("ffmpeg"),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        await terminate_process_group(proc, grace=1.0)
        return -1, ""
    return proc.returncode or 0, out.decode("utf-8", "replace")


async def listed_encoders() -> set[str]:
    """Encoder names compiled into this ffmpeg (`ffmpeg -encoders`)."""
    global _listed
    if _listed is None:
        _, out = await _run(["-hide_banner", "-encoders"], 20)
        names = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS" and parts[0] != "------":
                names.add(parts[1])
        _listed = names
    return _listed


async def encoder_works(encoder: str) -> bool:
    """Listed, and (for hardware encoders) able to encode one frame on this machine."""
    async with _lock:
        if encoder in _working:
            return _working[encoder]
        if encoder not in await listed_encoders():
            _working[encoder] = False
            return False
        preset = next((p for p in PRESETS.values() if p.encoder == encoder), None)
        if preset is None or not preset.hardware:
            _working[encoder] = True
            return True
        code, out = await _run(
            [
                "-hide_banner",
                "-f",
                "lavfi",
                "-i",
                "color=c=black:s=256x256:d=0.1",
                "-frames:v",
                "1",
                "-pix_fmt",
                preset.pix_fmt,
                "-c:v",
                encoder,
                "-f",
                "null",
                "-",
            ],
            20,
        )
        _working[encoder] = code == 0
        if code != 0:
            _LOGGER.info("Hardware encoder %s listed but not usable here: %s", encoder, out.strip()[-200:])
        return _working[encoder]


async def resolve_preset(name: str) -> Preset:
    """A preset or family name → a preset whose encoder works here, or a clear JobError."""
    if name in FAMILIES:
        for candidate in FAMILIES[name]:
            if await encoder_works(PRESETS[candidate].encoder):
                return PRESETS[candidate]
        raise JobError(f"no working {name} encoder in this ffmpeg (tried {', '.join(FAMILIES[name])})", retry=False)
    preset = PRESETS.get(name)
    if preset is None:
        raise JobError(f"unknown transcode preset {name!r} (known: {', '.join(PRESET_NAMES)})", retry=False)
    if not await encoder_works(preset.encoder):
        raise JobError(f"preset {name}: encoder {preset.encoder} is not available on this machine", retry=False)
    return preset


async def available_presets() -> dict[str, str]:
    """Preset/family name → encoder it would use here (for the UI and the service description)."""
    result = {}
    for name in PRESET_NAMES:
        try:
            result[name] = (await resolve_preset(name)).encoder
        except JobError:
            continue
    return result
