"""A running hub for the Assets / Clip Assist / Reports browser tests and the Assets page benchmark.

recorder + http (free port) + jobs + media + assets + reports + frontend, with one drive folder.
Media is generated with ffmpeg at test time, indexed by assets.index, and its derivatives made by
the real media services (thumbnail, sprite, hover, waveform).
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamops.core import Hub
from tests.helpers_api import api_hub
from tests.media_fixtures import FFPROBE, make_video, run


@dataclass
class AssetsHub:
    hub: Hub
    base_url: str
    token: str
    drive: Path

    async def call(self, domain: str, service: str, data: dict[str, Any]) -> Any:
        return await self.hub.services.async_call(domain, service, data, return_response=True)

    async def index(self, path: Path) -> dict[str, Any]:
        return await self.call("assets", "index", {"path": str(path)})

    async def previews(self, path: Path, *, sprite_interval: float = 1.0) -> None:
        """Poster, sprite sheet (+ JSON/VTT index), hover clip and waveform, by the media services."""
        await self.call("media", "thumbnail", {"input": str(path)})
        await self.call("media", "sprite", {"input": str(path), "interval": sprite_interval, "keyframes_only": False})
        await self.call("media", "hover", {"input": str(path), "seconds": 2})
        await self.call("media", "waveform", {"input": str(path), "buckets": 400})


@asynccontextmanager
async def assets_hub(tmp_path: Path, *, reports: dict[str, Any] | None = None) -> AsyncIterator[AssetsHub]:
    drive = tmp_path / "drive"
    drive.mkdir()

    async def setup(hub: Hub) -> None:
        from streamops import assets, frontend
        from streamops import reports as reports_component
        from tests.helpers_media import setup_media_hub

        hub.config.components.update({"recorder", "http"})
        await setup_media_hub(hub, [drive], start=False)
        assert await assets.async_setup(hub, assets.CONFIG_SCHEMA({}))
        assert await reports_component.async_setup(hub, {"weekly": False, **(reports or {})})
        assert await frontend.async_setup(hub, frontend.CONFIG_SCHEMA({}))
        hub.config.components.update({"assets", "reports", "frontend"})

    async with api_hub(tmp_path, setup=setup) as (hub, base_url, token):
        yield AssetsHub(hub, base_url, token, drive)


def make_recording(path: Path, duration: float = 8.0) -> Path:
    """A small H.264/AAC MP4 with a keyframe every second (lossless cuts land on whole seconds)."""
    return make_video(path, duration=duration, size="320x180", rate=25, gop=25)


def ffprobe(path: Path) -> dict[str, Any]:
    import json

    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def make_cut_recording(path: Path, colours: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple")) -> Path:
    """2 s per solid colour (hard cuts at 2, 4, 6, 8 s) with a moving test pattern inset, a keyframe
    every second, and a quiet tone with loud bursts (so the waveform has a shape)."""
    duration = 2.0 * len(colours)
    inputs: list[str] = []
    for colour in colours:
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:size=320x180:rate=25:duration=2"]
    n = len(colours)
    inputs += ["-f", "lavfi", "-i", f"testsrc2=size=120x68:rate=25:duration={duration}"]
    bursts = "+".join(f"between(t,{t},{t + 0.6})*0.9" for t in (1.2, 4.5, 7.3))
    inputs += ["-f", "lavfi", "-i", f"aevalsrc='(0.05+{bursts})*sin(2*PI*330*t)':s=48000:d={duration}"]
    graph = "".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0[bg];[bg][{n}:v]overlay=12:12[v]"
    run(
        [
            *inputs,
            "-filter_complex", graph, "-map", "[v]", "-map", f"{n + 1}:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "96k", str(path),
        ]
    )  # fmt: skip
    return path
