"""What a worker can do and reach, reported in every heartbeat (and logged at start).

GPU encoders count only when a one-frame test encode works (the media component's check), since
distribution ffmpeg builds list NVENC/QSV on machines without the hardware. Mapped paths are tried
for real: listing for read, creating and removing a file for write.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from .protocol import PathMap

_LOGGER = logging.getLogger(__name__)

_HW_MARKERS = ("nvenc", "qsv", "vaapi", "amf", "videotoolbox", "v4l2m2m")


async def detect_capabilities(job_types: list[str], concurrency: int) -> dict[str, Any]:
    caps: dict[str, Any] = {
        "job_types": sorted(job_types),
        "concurrency": concurrency,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "ffmpeg": False,
        "gpu_encoders": [],
        "hardware_encoders_listed": [],
    }
    try:
        from streamops.media.encoders import PRESETS, encoder_works, listed_encoders

        listed = await listed_encoders()
        caps["ffmpeg"] = bool(listed)
        caps["hardware_encoders_listed"] = sorted(e for e in listed if any(m in e for m in _HW_MARKERS))
        caps["gpu_encoders"] = [p.encoder for p in PRESETS.values() if p.hardware and await encoder_works(p.encoder)]
    except Exception as err:  # no ffmpeg here: the worker may still run non-media job types
        _LOGGER.info("No ffmpeg capabilities: %s", err)
    return caps


def check_paths(path_map: PathMap) -> list[dict[str, Any]]:
    """For each mapping: does the worker's side exist, can it be read, can it be written?"""
    report = []
    for hub_path, worker_path in path_map.pairs:
        folder = Path(worker_path)
        exists = folder.is_dir()
        readable = writable = False
        if exists:
            try:
                next(os.scandir(folder), None)
                readable = True
            except OSError:
                readable = False
            try:
                with tempfile.NamedTemporaryFile(dir=folder, prefix=".streamops-write-check-"):
                    pass
                writable = True
            except OSError:
                writable = False
        report.append({"hub": hub_path, "worker": worker_path, "exists": exists, "read": readable, "write": writable})
    return report
