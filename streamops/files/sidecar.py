"""`files.write_sidecar`: a JSON description next to a recording, for editors and scripts.

Game/scene/profile and session times come from the path-variable providers (OBS knows the session
that wrote a file); duration, bitrate and codecs from ffprobe. Written to a temporary and renamed.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core import Hub
from ..media.outputs import commit, remove_quietly, temp_path_for
from ..media.probe import probe

SESSION_KEYS = ("Game", "Scene", "Profile")


def sidecar_path(media: Path, suffix: str) -> Path:
    return media.with_name(media.name + suffix)


async def build_sidecar(hub: Hub, media: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from ..templates import async_path_variables

    info = await probe(media)
    variables = await async_path_variables(hub, media)
    stat = os.stat(media)
    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
    start = variables.get("start") or variables.get("recording_started")
    end = variables.get("end") or variables.get("recording_stopped")
    if end is None:
        end = modified.isoformat()
    if start is None:
        start = datetime.fromtimestamp(stat.st_mtime - info.duration, UTC).isoformat()
    summary = info.summary()
    return {
        "version": 1,
        "file": media.name,
        "path": str(media),
        "size": stat.st_size,
        "game": variables.get("Game"),
        "scene": variables.get("Scene"),
        "profile": variables.get("Profile"),
        "start": start,
        "end": end,
        "duration": summary["duration"],
        "average_bitrate": summary["bit_rate"],
        "container": summary["format"],
        "width": summary["width"],
        "height": summary["height"],
        "fps": summary["fps"],
        "video_codec": info.video.get("codec_name") if info.video else None,
        "audio_codecs": [s.get("codec_name") for s in info.audio],
        "streams": summary["streams"],
        "written": datetime.now(UTC).isoformat(),
        **({"extra": extra} if extra else {}),
    }


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    temp = temp_path_for(path)
    # The temporary sits in a user-writable drive folder: remove whatever is at its name and create it
    # exclusively, so a symlink planted there is never followed to a file outside the drives.
    remove_quietly(temp)
    try:
        with open(temp, "x", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        commit(temp, path, overwrite=True)
    except BaseException:
        remove_quietly(temp)
        raise
