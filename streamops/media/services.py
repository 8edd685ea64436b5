"""`media.*` services: validate, resolve paths, then submit a job and (by default) wait for it.

A call from an automation gets the job's result (`{"job_id", "output", ...}`) so the next step can
use the output; `wait: false` returns the job id at once. A dry run resolves everything the same
way and returns the exact command line and destination without touching anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import voluptuous as vol

from ..core import Hub, ServiceCall, ServiceError, SupportsResponse
from ..jobs.guardrails import JOB_GUARDRAILS_SCHEMA
from ..jobs.model import JobError
from . import commands
from .encoders import PRESET_NAMES, resolve_preset
from .operations import MediaJobs
from .paths import check_destination, check_source, derivative_dir, planning
from .probe import MediaInfo, ProbeError, probe

DOMAIN = "media"

_FRACTION = vol.All(vol.Coerce(float), vol.Range(min=0, max=0.45))
_SECONDS = vol.All(vol.Coerce(float), vol.Range(min=0))

BASE = {
    vol.Required("input"): vol.All(str, vol.Length(min=1)),
    vol.Optional("output"): vol.All(str, vol.Length(min=1)),
    vol.Optional("wait", default=True): bool,
    vol.Optional("timeout"): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
    vol.Optional("priority", default=0): vol.Coerce(int),
    vol.Optional("overwrite", default=False): bool,
    # The original rule format's pause_if_recording / pause_if_gpu_pct_above / pause_if_cpu_pct_above.
    vol.Optional("guardrails"): JOB_GUARDRAILS_SCHEMA,
}


def schemas(settings: dict[str, Any]) -> dict[str, vol.Schema]:
    return {
        "remux": vol.Schema(
            {
                **BASE,
                vol.Optional("format", default="mov"): vol.In(["mov", "mp4"]),
                vol.Optional("delete_source", default=False): bool,
            }
        ),
        "proxy": vol.Schema(
            {
                **BASE,
                vol.Optional("codec", default=settings["proxy_codec"]): vol.In(["dnxhr_lb", "h264"]),
                vol.Optional("max_height", default=settings["proxy_max_height"]): vol.All(
                    vol.Coerce(int), vol.Range(min=144, max=4320)
                ),
            }
        ),
        "thumbnail": vol.Schema(
            {
                **BASE,
                vol.Optional("at"): _SECONDS,
                vol.Optional("width", default=640): vol.All(vol.Coerce(int), vol.Range(min=16, max=7680)),
            }
        ),
        "sprite": vol.Schema(
            {
                **BASE,
                vol.Optional("interval", default=settings["sprite_interval"]): vol.All(
                    vol.Coerce(float), vol.Range(min=0.1)
                ),
                vol.Optional("columns", default=10): vol.All(vol.Coerce(int), vol.Range(min=1, max=100)),
                vol.Optional("tile_width", default=160): vol.All(vol.Coerce(int), vol.Range(min=16, max=1920)),
                vol.Optional("keyframes_only", default=True): bool,
            }
        ),
        "hover": vol.Schema(
            {
                **BASE,
                vol.Optional("start"): _SECONDS,
                vol.Optional("seconds", default=6.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=30)),
            }
        ),
        "waveform": vol.Schema(
            {
                **BASE,
                vol.Optional("buckets", default=settings["waveform_buckets"]): vol.All(
                    vol.Coerce(int), vol.Range(min=10, max=200_000)
                ),
                vol.Optional("sample_rate", default=8000): vol.In([4000, 8000, 16000, 22050, 44100, 48000]),
            }
        ),
        "transcode": vol.Schema(
            {
                **BASE,
                vol.Optional("preset", default="h264"): vol.In(PRESET_NAMES),
                vol.Optional("quality"): vol.All(vol.Coerce(int), vol.Range(min=0, max=255)),
                vol.Optional("audio_bitrate", default="192k"): vol.Match(r"^\d+[kM]?$"),
                vol.Optional("delete_source", default=False): bool,
            }
        ),
        "scenes": vol.Schema(
            {
                **BASE,
                vol.Optional("threshold", default=27.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=255)),
                vol.Optional("min_scene_len", default=0.6): _SECONDS,
                vol.Optional("audio", default=True): bool,
                vol.Optional("peak_z", default=3.0): vol.All(vol.Coerce(float), vol.Range(min=0.5)),
                vol.Optional("pre", default=20.0): _SECONDS,
                vol.Optional("post", default=10.0): _SECONDS,
                vol.Optional("limit", default=20): vol.All(vol.Coerce(int), vol.Range(min=1, max=1000)),
            }
        ),
        "clip": vol.Schema(
            {
                **BASE,
                vol.Required("start"): _SECONDS,
                vol.Required("end"): _SECONDS,
                vol.Optional("accurate", default=False): bool,
            }
        ),
        "social_export": vol.Schema(
            {
                **BASE,
                vol.Optional("aspect", default="9:16"): vol.In(["9:16", "1:1"]),
                vol.Optional("start"): _SECONDS,
                vol.Optional("end"): _SECONDS,
                vol.Optional("captions"): vol.All(str, vol.Length(min=1)),
                vol.Optional("hud_margins", default={}): {
                    vol.Optional("top"): _FRACTION,
                    vol.Optional("bottom"): _FRACTION,
                    vol.Optional("left"): _FRACTION,
                    vol.Optional("right"): _FRACTION,
                },
                vol.Optional("centre_bias", default=0.35): vol.All(vol.Coerce(float), vol.Range(min=0, max=1)),
                vol.Optional("segment", default=1.0): vol.All(vol.Coerce(float), vol.Range(min=0.2, max=60)),
                vol.Optional("height"): vol.All(vol.Coerce(int), vol.Range(min=144, max=4320)),
                vol.Optional("caption_margin", default=0.22): vol.All(vol.Coerce(float), vol.Range(min=0, max=0.5)),
                vol.Optional("caption_size", default=18): vol.All(vol.Coerce(int), vol.Range(min=6, max=200)),
            }
        ),
    }


DESCRIPTIONS = {
    "remux": "Stream-copy a recording to MOV/MP4 (genpts, all streams, faststart); never deletes the source "
    "unless delete_source is set, and then only after the output verifies.",
    "proxy": "Editing proxy: DNxHR LB 4:2:2 + PCM in MOV, or a light H.264 MP4; never upscales (max 1080p).",
    "thumbnail": "Poster JPEG at `at` seconds (default 10 % in).",
    "sprite": "Sprite sheet with a frame every `interval` seconds, plus JSON and WebVTT (xywh) indexes.",
    "hover": "6 s silent 360p loop MP4 with a keyframe every 6 frames, for hover-scrub.",
    "waveform": "Peaks JSON (min/max and RMS per bucket) of the first audio track.",
    "transcode": "Re-encode with a named preset; h264/hevc/av1 pick a working hardware encoder first.",
    "scenes": "Scene cuts (PySceneDetect ContentDetector) and loud moments → clip candidates with scores.",
    "clip": "Cut a range: lossless (snapped to keyframes, actual start/end reported) or accurate re-encode.",
    "social_export": "9:16 or 1:1 export whose crop follows motion (centre-biased, HUD margins ignored), "
    "optionally with burned-in SRT captions.",
}


class MediaServices:
    def __init__(self, hub: Hub, jobs: MediaJobs, settings: dict[str, Any]) -> None:
        self.hub = hub
        self.jobs = jobs
        self.settings = settings
        self.schemas = schemas(settings)

    def register(self) -> None:
        for name, schema in self.schemas.items():
            self.hub.services.async_register(
                DOMAIN,
                name,
                self._handler(name),
                schema,
                supports_response=SupportsResponse.OPTIONAL,
                supports_dry_run=True,
                description=DESCRIPTIONS[name],
                fields={str(key): {} for key in schema.schema},
            )

    def _handler(self, name: str) -> Callable[[ServiceCall], Awaitable[dict[str, Any]]]:
        async def handle(call: ServiceCall) -> dict[str, Any]:
            return await self.call(name, dict(call.data), dry_run=call.dry_run)

        return handle

    # -- the flow every media service shares ---------------------------------------------------------
    async def call(self, name: str, data: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        with planning(dry_run):
            job_type, params = await getattr(self, f"_prepare_{name}")(data)
        if dry_run:
            return await self.plan(job_type, params)
        from ..jobs import JOBS

        queue = self.hub.data.get(JOBS)
        if queue is None:
            raise ServiceError(f"media.{name}: the job queue is not set up")
        key_source = params.get("output") or json.dumps(params, sort_keys=True)
        dedupe = f"{job_type}:{hashlib.blake2s(key_source.encode(), digest_size=8).hexdigest()}"
        job_id = await queue.submit(
            job_type, params, priority=data.get("priority", 0), dedupe_key=dedupe, guardrails=data.get("guardrails")
        )
        if not data.get("wait", True):
            return {
                "job_id": job_id,
                "status": "queued",
                **({"output": params["output"]} if "output" in params else {}),
            }
        try:
            row = await queue.wait(job_id, timeout=data.get("timeout"))
        except TimeoutError:
            raise ServiceError(f"media.{name}: job {job_id} still running after {data.get('timeout')} s") from None
        if row["status"] == "done":
            return {**(row.get("result") or {}), "job_id": job_id}
        raise ServiceError(f"media.{name} job {job_id} {row['status']}: {row.get('error') or 'no error recorded'}")

    async def plan(self, job_type: str, params: dict[str, Any]) -> dict[str, Any]:
        """The dry-run answer: exact argv and destination, from a read-only probe of the input."""
        note = None
        try:
            info = await probe(params["input"])
        except (ProbeError, JobError) as err:
            info = _placeholder_info(params["input"])
            note = f"input not probed ({err}); command shown for a 1080p60 video with one audio track"
        answer: dict[str, Any] = {"dry_run": True, "job_type": job_type, "params": params}
        op = self.jobs.ops.get(job_type)
        if op is not None:
            plan = await op.build(params, info)
        elif job_type == "media.waveform":
            plan = commands.waveform_pcm(info, Path(params["input"]), int(params["sample_rate"]))
            plan.output = Path(params["output"])
        else:  # scenes: analysis only
            plan = None
        if plan is not None:
            answer["command"] = plan.argv
            answer["output"] = str(plan.output)
            if plan.temp is not None:
                answer["temporary"] = str(plan.temp)
            answer.update({k: v for k, v in plan.extra.items() if not k.startswith("_")})
        if job_type == "media.social_export":
            answer["note"] = "the crop x positions are computed from motion when the job runs"
        if note:
            answer["probe"] = note
        return answer

    # -- per-service preparation -------------------------------------------------------------------
    def _input(self, data: dict[str, Any]) -> Path:
        return check_source(self.hub, data["input"], "input")

    def _output(self, data: dict[str, Any], default: Path, *, derivative: bool = False) -> Path:
        output = Path(data["output"]) if data.get("output") else default
        output = check_destination(self.hub, output, "output", derivative=derivative)
        if output.resolve() == Path(data["input"]).resolve():
            raise ServiceError(f"output {output} is the input itself; choose another output")
        return output

    def _common(self, data: dict[str, Any], source: Path, output: Path) -> dict[str, Any]:
        return {"input": str(source), "output": str(output), "overwrite": bool(data.get("overwrite"))}

    async def _prepare_remux(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        default = source.with_suffix(f".{data['format']}")
        if default == source:
            raise ServiceError(f"{source} is already .{data['format']}; give an output path to remux it")
        output = self._output(data, default)
        return "media.remux", {**self._common(data, source, output), "delete_source": data["delete_source"]}

    async def _prepare_proxy(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        suffix = ".mov" if data["codec"] == "dnxhr_lb" else ".mp4"
        output = self._output(data, source.parent / "Proxies" / f"{source.stem}_proxy{suffix}")
        return "media.proxy", {
            **self._common(data, source, output),
            "codec": data["codec"],
            "max_height": data["max_height"],
        }

    async def _prepare_thumbnail(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        output = self._output(data, derivative_dir(self.hub, source) / "poster.jpg", derivative=True)
        return "media.thumbnail", {**self._common(data, source, output), "at": data.get("at"), "width": data["width"]}

    async def _prepare_sprite(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        output = self._output(data, derivative_dir(self.hub, source) / "sprite.jpg", derivative=True)
        return "media.sprite", {
            **self._common(data, source, output),
            "interval": data["interval"],
            "columns": data["columns"],
            "tile_width": data["tile_width"],
            "keyframes_only": data["keyframes_only"],
        }

    async def _prepare_hover(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        output = self._output(data, derivative_dir(self.hub, source) / "hover.mp4", derivative=True)
        return "media.hover", {
            **self._common(data, source, output),
            "start": data.get("start"),
            "seconds": data["seconds"],
        }

    async def _prepare_waveform(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        output = self._output(data, derivative_dir(self.hub, source) / "waveform.json", derivative=True)
        return "media.waveform", {
            **self._common(data, source, output),
            "buckets": data["buckets"],
            "sample_rate": data["sample_rate"],
        }

    async def _prepare_transcode(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        preset = await resolve_preset(data["preset"])
        output = self._output(data, source.with_name(f"{source.stem}.{preset.name}.{preset.container}"))
        job_type = "media.transcode_gpu" if preset.resource == "gpu" else "media.transcode"
        return job_type, {
            **self._common(data, source, output),
            "preset": preset.name,
            "requested_preset": data["preset"],
            "quality": data.get("quality"),
            "audio_bitrate": data["audio_bitrate"],
            "delete_source": data["delete_source"],
        }

    async def _prepare_scenes(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        params = {key: data[key] for key in ("threshold", "min_scene_len", "audio", "peak_z", "pre", "post", "limit")}
        params["input"] = str(source)
        if data.get("output"):
            params["output"] = str(check_destination(self.hub, data["output"], "output", derivative=True))
        return "media.scenes", params

    async def _prepare_clip(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        if data["end"] <= data["start"]:
            raise ServiceError(f"clip end ({data['end']} s) must be after its start ({data['start']} s)")
        tag = "accurate" if data["accurate"] else "copy"
        default = source.parent / "Clips" / f"{source.stem}_{data['start']:.1f}-{data['end']:.1f}_{tag}{source.suffix}"
        output = self._output(data, default)
        job_type = "media.clip_accurate" if data["accurate"] else "media.clip"
        return job_type, {
            **self._common(data, source, output),
            "start": data["start"],
            "end": data["end"],
            "accurate": data["accurate"],
        }

    async def _prepare_social_export(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = self._input(data)
        if data.get("start") is not None and data.get("end") is not None and data["end"] <= data["start"]:
            raise ServiceError(f"end ({data['end']} s) must be after start ({data['start']} s)")
        captions = str(check_source(self.hub, data["captions"], "captions")) if data.get("captions") else None
        shape = data["aspect"].replace(":", "x")
        span = f"_{data.get('start') or 0:.0f}-{data['end']:.0f}" if data.get("end") is not None else ""
        output = self._output(data, source.parent / "Social" / f"{source.stem}_{shape}{span}.mp4")
        params = {
            **self._common(data, source, output),
            "aspect": data["aspect"],
            "start": data.get("start"),
            "end": data.get("end"),
            "captions": captions,
            "hud_margins": data["hud_margins"],
            "centre_bias": data["centre_bias"],
            "segment": data["segment"],
            "height": data.get("height"),
            "caption_margin": data["caption_margin"],
            "caption_size": data["caption_size"],
        }
        return "media.social_export", params


def _placeholder_info(path: str) -> MediaInfo:
    return MediaInfo(
        path=path,
        duration=60.0,
        size=0,
        format_name="",
        bit_rate=None,
        streams=[
            {"index": 0, "codec_type": "video", "width": 1920, "height": 1080, "avg_frame_rate": "60/1"},
            {"index": 1, "codec_type": "audio"},
        ],
    )
