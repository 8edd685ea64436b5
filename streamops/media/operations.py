"""The media job types: what each one runs, how it proves its output, and how it recovers.

Every file-producing type follows one path (`_run_output`): probe the input → build the command →
if the final output already exists and verifies, reuse it (idempotent after a crash) → check free
space → ffmpeg writes the temporary → verify (ffprobe: stream count, duration) → atomic rename →
only then, when asked, delete the source. `already_done` answers from the same verification, and
`cleanup` removes the temporaries a crash left behind.
"""

# ruff: noqa: ASYNC240 - stat()/exists() on local paths are microseconds; data moves in ffmpeg or threads

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import Hub
from ..jobs.model import JobError, JobType
from . import commands
from .commands import Plan
from .encoders import PRESETS
from .ffmpeg_runner import DEFAULT_STALL_TIMEOUT, run_ffmpeg
from .motion import ANALYSIS_FPS, ANALYSIS_WIDTH, Margins, MotionTrack, crop_path
from .outputs import (
    VerificationError,
    check_free_space,
    commit,
    fsync_path,
    remove_quietly,
    temp_path_for,
    verify_media,
)
from .probe import MediaInfo, ProbeError, keyframe_times, probe
from .scenes import (
    RmsCollector,
    SceneCutCollector,
    analysis_size,
    audio_peaks,
    clip_candidates,
    scenes_from_cuts,
)
from .waveform import PeakAccumulator, pcm_handler

_LOGGER = logging.getLogger(__name__)

Builder = Callable[[dict[str, Any], MediaInfo], Awaitable[Plan]]

DERIVATIVE_KINDS = {
    "media.thumbnail": "thumb",
    "media.sprite": "sprite",
    "media.hover": "hover",
    "media.waveform": "waveform",
}


@dataclass
class OutputOp:
    """A job type whose product is one media file written by ffmpeg."""

    name: str
    build: Builder
    resource: str
    heavy: bool
    estimate: Callable[[MediaInfo, dict[str, Any]], int]
    companions: Callable[[Path], list[Path]] = lambda output: []


def _size_like_input(info: MediaInfo, params: dict[str, Any]) -> int:
    return info.size


def _small(info: MediaInfo, params: dict[str, Any]) -> int:
    return 16 << 20


def _bitrate_estimate(mbps: float) -> Callable[[MediaInfo, dict[str, Any]], int]:
    def estimate(info: MediaInfo, params: dict[str, Any]) -> int:
        return int(mbps * 1_000_000 / 8 * max(1.0, info.duration))

    return estimate


def _clip_estimate(info: MediaInfo, params: dict[str, Any]) -> int:
    span = max(0.0, float(params.get("end") or info.duration) - float(params.get("start") or 0.0))
    fraction = min(1.0, span / info.duration) if info.duration else 1.0
    return int(info.size * fraction) + (8 << 20)


def sprite_companions(output: Path) -> list[Path]:
    return [output.with_suffix(".json"), output.with_suffix(".vtt")]


class MediaJobs:
    """Owns the media job types; one per hub."""

    def __init__(self, hub: Hub, settings: dict[str, Any]) -> None:
        self.hub = hub
        self.settings = settings
        self.ops: dict[str, OutputOp] = {
            op.name: op
            for op in (
                OutputOp("media.remux", self.build_remux, "io", False, _size_like_input),
                OutputOp("media.proxy", self.build_proxy, "cpu", True, self._proxy_estimate),
                OutputOp("media.thumbnail", self.build_thumbnail, "cpu", True, _small),
                OutputOp("media.sprite", self.build_sprite, "cpu", True, _small, sprite_companions),
                OutputOp("media.hover", self.build_hover, "cpu", True, _small),
                OutputOp("media.transcode", self.build_transcode, "cpu", True, _size_like_input),
                OutputOp("media.transcode_gpu", self.build_transcode, "gpu", True, _size_like_input),
                OutputOp("media.clip", self.build_clip, "io", False, _clip_estimate),
                OutputOp("media.clip_accurate", self.build_clip, "cpu", True, _clip_estimate),
                OutputOp("media.social_export", self.build_social, "cpu", True, _bitrate_estimate(8)),
            )
        }

    @property
    def stall_timeout(self) -> float:
        return float(self.settings.get("stall_timeout") or DEFAULT_STALL_TIMEOUT)

    # -- registration ------------------------------------------------------------------------------
    def job_types(self) -> list[JobType]:
        types = []
        for op in self.ops.values():
            types.append(
                JobType(
                    op.name,
                    self._runner(op),
                    resource=op.resource,
                    heavy=op.heavy,
                    already_done=self._already_done_for(op),
                    cleanup=self._cleanup_for(op),
                )
            )
        types.append(
            JobType(
                "media.waveform",
                self.run_waveform,
                resource="cpu",
                heavy=True,
                already_done=self.waveform_done,
                cleanup=self._cleanup_plain,
            )
        )
        types.append(JobType("media.scenes", self.run_scenes, resource="cpu", heavy=True))
        return types

    def _runner(self, op: OutputOp) -> Callable[[Any], Awaitable[dict[str, Any]]]:
        async def run(ctx: Any) -> dict[str, Any]:
            return await self._run_output(op, ctx)

        return run

    def _already_done_for(self, op: OutputOp) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]:
        async def already_done(params: dict[str, Any]) -> dict[str, Any] | None:
            return await self.already_done(op, params)

        return already_done

    def _cleanup_for(self, op: OutputOp) -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def cleanup(params: dict[str, Any]) -> None:
            output = Path(params["output"])
            remove_quietly(temp_path_for(output), *(temp_path_for(p) for p in op.companions(output)))

        return cleanup

    async def _cleanup_plain(self, params: dict[str, Any]) -> None:
        if params.get("output"):
            remove_quietly(temp_path_for(params["output"]))

    # -- builders (shared by the jobs and by dry runs) ---------------------------------------------
    async def build_remux(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        return commands.remux(info, Path(params["input"]), Path(params["output"]))

    async def build_proxy(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        return commands.proxy(
            info,
            Path(params["input"]),
            Path(params["output"]),
            params["codec"],
            int(params.get("max_height") or commands.PROXY_MAX_HEIGHT),
        )

    def _proxy_estimate(self, info: MediaInfo, params: dict[str, Any]) -> int:
        height = commands.proxy_height(info.height or 1080, int(params.get("max_height") or 1080))
        mbps = 45.0 * (height / 1080) ** 2 * max(1.0, (info.fps or 30) / 30) if params["codec"] == "dnxhr_lb" else 6.0
        return int((mbps + 1.6) * 1_000_000 / 8 * max(1.0, info.duration))

    async def build_thumbnail(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        return commands.thumbnail(
            info, Path(params["input"]), Path(params["output"]), params.get("at"), int(params.get("width") or 640)
        )

    async def build_sprite(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        return commands.sprite(
            info,
            Path(params["input"]),
            Path(params["output"]),
            float(params["interval"]),
            int(params["tile_width"]),
            int(params["columns"]),
            bool(params["keyframes_only"]),
        )

    async def build_hover(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        return commands.hover(
            info,
            Path(params["input"]),
            Path(params["output"]),
            params.get("start"),
            float(params.get("seconds") or commands.HOVER_SECONDS),
        )

    async def build_transcode(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        preset = PRESETS[params["preset"]]
        return commands.transcode(
            info,
            Path(params["input"]),
            Path(params["output"]),
            preset,
            params.get("quality"),
            params.get("audio_bitrate") or "192k",
        )

    async def snap_clip(self, params: dict[str, Any], info: MediaInfo) -> tuple[float, float]:
        """Lossless clips start on the keyframe at/before `start` and end on the one at/after `end`."""
        start = max(0.0, float(params.get("start") or 0.0))
        end = float(params["end"]) if params.get("end") is not None else info.duration
        end = min(end, info.duration)
        if end <= start:
            raise JobError(
                f"clip range is empty: start {start:.3f} s, end {end:.3f} s (media is {info.duration:.3f} s long)",
                retry=False,
            )
        if params.get("accurate"):
            return start, end
        source = params["input"]
        # Packet times are absolute; -ss and the user's times are relative to the file's start.
        offset = info.start_time
        near_start = await keyframe_times(source, max(0.0, offset + start - 30), offset + start + 1)
        before = [k - offset for k in near_start if k - offset <= start + 1e-3]
        snapped_start = max(0.0, max(before)) if before else 0.0
        near_end = await keyframe_times(source, max(0.0, offset + end - 1), offset + end + 30)
        after = [k - offset for k in near_end if k - offset >= end - 1e-3]
        snapped_end = min(after) if after else info.duration
        if end >= info.duration - 1e-3:
            snapped_end = info.duration
        return snapped_start, min(snapped_end, info.duration)

    async def build_clip(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        start, end = await self.snap_clip(params, info)
        build = commands.clip_accurate if params.get("accurate") else commands.clip_copy
        plan = build(info, Path(params["input"]), Path(params["output"]), start, end)
        plan.extra.update(
            start=round(start, 6),
            end=round(end, 6),
            requested_start=params.get("start"),
            requested_end=params.get("end"),
            accurate=bool(params.get("accurate")),
        )
        return plan

    def social_geometry(self, params: dict[str, Any], info: MediaInfo) -> dict[str, int]:
        width, height = info.width or 0, info.height or 0
        if not width or not height:
            raise JobError(f"{info.path} has no video stream; cannot make a social export", retry=False)
        if params["aspect"] == "9:16":
            crop_h = commands.even(height)
            crop_w = commands.even(height * 9 / 16)
            if crop_w > width:
                crop_w = commands.even(width)
                crop_h = commands.even(min(height, width * 16 / 9))
            out_h = int(params.get("height") or 1920)
            out_w = commands.even(out_h * 9 / 16)
        else:
            crop_w = crop_h = commands.even(min(width, height))
            out_h = int(params.get("height") or 1080)
            out_w = out_h
        return {
            "crop_w": crop_w,
            "crop_h": crop_h,
            "crop_y": (height - crop_h) // 2,
            "out_w": out_w,
            "out_h": commands.even(out_h),
            "width": width,
        }

    async def build_social(self, params: dict[str, Any], info: MediaInfo) -> Plan:
        geo = self.social_geometry(params, info)
        start = float(params.get("start") or 0.0)
        end = min(float(params["end"]) if params.get("end") is not None else info.duration, info.duration)
        if end <= start:
            raise JobError(f"social export range is empty: {start:.3f}–{end:.3f} s", retry=False)
        points = params.get("_crop_points") or [(0.0, float((geo["width"] - geo["crop_w"]) // 2))]
        bottom = max(
            float(params.get("caption_margin", 0.22)), float((params.get("hud_margins") or {}).get("bottom", 0))
        )
        size = int(params.get("caption_size") or 18)
        # libass scales SRT styles to a 288-line canvas: MarginV keeps captions above the platform UI.
        style = f"FontSize={size},Alignment=2,Outline=2,Shadow=0,MarginV={int(288 * bottom)}"
        plan = commands.social(
            info,
            Path(params["input"]),
            Path(params["output"]),
            start=start,
            end=end,
            crop_w=geo["crop_w"],
            crop_h=geo["crop_h"],
            crop_y=geo["crop_y"],
            x_points=[tuple(p) for p in points],
            out_w=geo["out_w"],
            out_h=geo["out_h"],
            subtitles=Path(params["captions"]) if params.get("captions") else None,
            caption_style=style,
        )
        plan.extra.update(
            aspect=params["aspect"],
            width=geo["out_w"],
            height=geo["out_h"],
            start=start,
            end=end,
            crop_keypoints=len(points),
        )
        return plan

    async def analyse_motion(self, ctx: Any, params: dict[str, Any], info: MediaInfo) -> list[list[float]]:
        """Motion-following crop keypoints for a social export (first 30 % of the job's progress)."""
        geo = self.social_geometry(params, info)
        start = float(params.get("start") or 0.0)
        end = min(float(params["end"]) if params.get("end") is not None else info.duration, info.duration)
        width = min(ANALYSIS_WIDTH, commands.even(info.width or ANALYSIS_WIDTH))
        height = commands.even(width * (info.height or 9) / (info.width or 16))
        margins = Margins(**{k: float(v) for k, v in (params.get("hud_margins") or {}).items()})
        track = MotionTrack(width, height, ANALYSIS_FPS, margins)
        import ffmpeg

        argv = ffmpeg.compile(
            ffmpeg.input(params["input"], ss=f"{start:.6f}", t=f"{end - start:.6f}")["v:0"]
            .filter("fps", fps=ANALYSIS_FPS)
            .filter("scale", width, height)
            .output("pipe:1", f="rawvideo", pix_fmt="gray"),
            cmd="ffmpeg",
        )
        await run_ffmpeg(
            ctx,
            argv,
            duration=end - start,
            stall_timeout=self.stall_timeout,
            stdout_handler=track.handler(),
            label="motion analysis",
            progress_range=(0, 30),
        )
        points = crop_path(
            track,
            end - start,
            source_width=geo["width"],
            crop_width=geo["crop_w"],
            segment=float(params.get("segment") or 1.0),
            centre_bias=float(params.get("centre_bias", 0.35)),
        )
        return [[t, x] for t, x in points]

    # -- the one path every file-producing job takes ---------------------------------------------------
    async def _run_output(self, op: OutputOp, ctx: Any) -> dict[str, Any]:
        params = dict(ctx.params)
        source, output = Path(params["input"]), Path(params["output"])
        info = await probe(source)
        if op.name == "media.social_export":
            reused = await self._reusable(op, params, info)
            if reused is not None:
                return await self._finish(op, ctx, params, None, reused, info, reused=True)
            params["_crop_points"] = await self.analyse_motion(ctx, params, info)
            progress_range: tuple[float, float] = (30, 100)
        else:
            progress_range = (0, 100)
        plan = await op.build(params, info)
        existing = await self._verify_existing(op, plan)
        if existing is not None:
            return await self._finish(op, ctx, params, plan, existing, info, reused=True)
        if output.exists() and not params.get("overwrite"):
            raise JobError(
                f"{output} already exists and is not a verified {op.name.split('.')[1]} of {source}; "
                "not overwriting it (set overwrite: true or choose another output)",
                retry=False,
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        check_free_space(output.parent, op.estimate(info, params), op.name.split(".")[1])
        assert plan.temp is not None
        remove_quietly(plan.temp)
        try:
            await run_ffmpeg(
                ctx,
                plan.argv,
                duration=plan.progress_duration,
                stall_timeout=self.stall_timeout,
                label=f"ffmpeg {op.name.split('.')[1]}",
                progress_range=progress_range,
            )
            verified = await verify_media(
                plan.temp, streams=plan.streams, duration=plan.duration, what=f"{op.name.split('.')[1]} output"
            )
            if op.name == "media.sprite":
                self._write_sprite_index(plan, output, verified)
            commit(plan.temp, output, overwrite=bool(params.get("overwrite")), durable=False)
        except BaseException:
            remove_quietly(plan.temp)
            raise
        return await self._finish(op, ctx, params, plan, verified, info, reused=False)

    async def _verify_existing(self, op: OutputOp, plan: Plan) -> MediaInfo | None:
        if not plan.output.exists() or any(not p.exists() for p in op.companions(plan.output)):
            return None
        try:
            return await verify_media(plan.output, streams=plan.streams, duration=plan.duration)
        except VerificationError:
            return None

    async def _reusable(self, op: OutputOp, params: dict[str, Any], info: MediaInfo) -> MediaInfo | None:
        """For exports whose full plan needs analysis: an existing output of the right length."""
        output = Path(params["output"])
        if not output.exists():
            return None
        start = float(params.get("start") or 0.0)
        end = min(float(params["end"]) if params.get("end") is not None else info.duration, info.duration)
        try:
            return await verify_media(output, streams=1 + min(1, len(info.audio)), duration=end - start)
        except VerificationError:
            return None

    async def _finish(
        self,
        op: OutputOp,
        ctx: Any,
        params: dict[str, Any],
        plan: Plan | None,
        verified: MediaInfo,
        info: MediaInfo,
        *,
        reused: bool,
    ) -> dict[str, Any]:
        source, output = Path(params["input"]), Path(params["output"])
        result: dict[str, Any] = {
            "job_id": getattr(ctx, "job_id", None),
            "input": str(source),
            "output": str(output),
            "duration": round(verified.duration, 3),
            "size": verified.size,
            "streams": len(verified.streams),
            "width": verified.width,
            "height": verified.height,
            "codecs": [s.get("codec_name") for s in verified.streams],
            "reused": reused,
        }
        if plan is not None:
            result.update({k: v for k, v in plan.extra.items() if not k.startswith("_")})
        if op.name == "media.sprite":
            result["index"] = str(output.with_suffix(".json"))
            result["vtt"] = str(output.with_suffix(".vtt"))
        if params.get("delete_source") and source.exists():
            # Only here: the output was verified against this very source a moment ago; make it
            # durable before the only other copy goes.
            fsync_path(output)
            fsync_path(output.parent, directory=True)
            os.unlink(source)
            fsync_path(source.parent, directory=True)
            result["source_deleted"] = True
            _LOGGER.info("Deleted %s after verifying %s", source, output)
        await self._record(op.name, source, output)
        return result

    async def already_done(self, op: OutputOp, params: dict[str, Any]) -> dict[str, Any] | None:
        """After a restart: the result, when the final output exists and verifies against the input."""
        source, output = Path(params["input"]), Path(params["output"])
        if not output.exists():
            return None
        if not source.exists():
            try:
                verified = await verify_media(output)
            except VerificationError:
                return None
            return {
                "input": str(source),
                "output": str(output),
                "duration": round(verified.duration, 3),
                "size": verified.size,
                "streams": len(verified.streams),
                "reused": True,
                **({"source_deleted": True} if params.get("delete_source") else {}),
            }
        if params.get("delete_source"):
            return None  # the run finishes the job: re-verify, then delete the source
        try:
            info = await probe(source)
            if op.name == "media.social_export":
                verified = await self._reusable(op, params, info)
                plan = None
            else:
                plan = await op.build(params, info)
                verified = await self._verify_existing(op, plan)
        except (ProbeError, JobError):
            return None
        if verified is None:
            return None
        result = {
            "input": str(source),
            "output": str(output),
            "duration": round(verified.duration, 3),
            "size": verified.size,
            "streams": len(verified.streams),
            "reused": True,
        }
        if plan is not None:
            result.update(plan.extra)
        return result

    # -- sprite index ------------------------------------------------------------------------------
    def _write_sprite_index(self, plan: Plan, output: Path, sheet: MediaInfo) -> None:
        extra = plan.extra
        interval = float(extra["interval"])
        cells = []
        for i in range(extra["count"]):
            col, row = i % extra["columns"], i // extra["columns"]
            cells.append(
                {
                    "index": i,
                    "time": round(i * interval, 3),
                    "x": col * extra["tile_width"],
                    "y": row * extra["tile_height"],
                    "w": extra["tile_width"],
                    "h": extra["tile_height"],
                }
            )
        index = {
            "version": 1,
            "sprite": output.name,
            "interval": interval,
            "count": extra["count"],
            "columns": extra["columns"],
            "rows": extra["rows"],
            "tile_width": extra["tile_width"],
            "tile_height": extra["tile_height"],
            "sheet_width": sheet.width,
            "sheet_height": sheet.height,
            "cells": cells,
        }
        lines = ["WEBVTT", ""]
        for cell in cells:
            end = cell["time"] + interval
            lines += [
                f"{_vtt_time(cell['time'])} --> {_vtt_time(end)}",
                f"{output.name}#xywh={cell['x']},{cell['y']},{cell['w']},{cell['h']}",
                "",
            ]
        for path, text in (
            (output.with_suffix(".json"), json.dumps(index, indent=1)),
            (output.with_suffix(".vtt"), "\n".join(lines)),
        ):
            temp = temp_path_for(path)
            temp.write_text(text, encoding="utf-8")
            commit(temp, path, overwrite=True)

    # -- waveform ------------------------------------------------------------------------------------
    async def run_waveform(self, ctx: Any) -> dict[str, Any]:
        params = ctx.params
        source, output = Path(params["input"]), Path(params["output"])
        info = await probe(source)
        rate = int(params.get("sample_rate") or 8000)
        plan = commands.waveform_pcm(info, source, rate)
        acc = PeakAccumulator(int(info.duration * rate), int(params.get("buckets") or 1000))
        await run_ffmpeg(
            ctx,
            plan.argv,
            duration=info.duration,
            stall_timeout=self.stall_timeout,
            stdout_handler=pcm_handler(acc, rate),
            label="ffmpeg waveform",
        )
        data = acc.as_dict(rate, info.duration)
        output.parent.mkdir(parents=True, exist_ok=True)
        temp = temp_path_for(output)
        try:
            temp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            commit(temp, output, overwrite=True)
        except BaseException:
            remove_quietly(temp)
            raise
        await self._record("media.waveform", source, output)
        return {
            "job_id": ctx.job_id,
            "input": str(source),
            "output": str(output),
            "buckets": data["buckets"],
            "duration": data["duration"],
            "sample_rate": rate,
        }

    async def waveform_done(self, params: dict[str, Any]) -> dict[str, Any] | None:
        output = Path(params["output"])
        try:
            data = json.loads(output.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not data.get("peaks"):
            return None
        return {
            "input": params["input"],
            "output": str(output),
            "buckets": data.get("buckets"),
            "duration": data.get("duration"),
            "reused": True,
        }

    # -- scenes --------------------------------------------------------------------------------------
    async def run_scenes(self, ctx: Any) -> dict[str, Any]:
        params = ctx.params
        source = Path(params["input"])
        info = await probe(source)
        if info.video is None or not info.fps:
            raise JobError(f"{source} has no video stream with a frame rate; cannot detect scenes", retry=False)
        width, height = analysis_size(info.width or 256, info.height or 144)
        collector = SceneCutCollector(
            info.fps, float(params.get("threshold") or 27.0), float(params.get("min_scene_len") or 0.6)
        )
        import ffmpeg

        argv = ffmpeg.compile(
            ffmpeg.input(str(source), **{"flags2": "+fast"})["v:0"]
            .filter("scale", width, height, flags="fast_bilinear")
            .output("pipe:1", f="rawvideo", pix_fmt="bgr24", fps_mode="passthrough"),
            cmd="ffmpeg",
        )
        with_audio = bool(params.get("audio", True)) and bool(info.audio)
        import time as _time

        started = _time.monotonic()
        await run_ffmpeg(
            ctx,
            argv,
            duration=info.duration,
            stall_timeout=self.stall_timeout,
            stdout_handler=collector.handler(width, height),
            label="scene detection",
            progress_range=(0, 80 if with_audio else 100),
        )
        video_seconds = _time.monotonic() - started
        cuts = sorted({round(c, 3) for c in collector.cuts if 0 < c < info.duration})
        peaks: list[dict[str, float]] = []
        window = float(params.get("audio_window") or 0.5)
        if with_audio:
            rms = RmsCollector(8000, window)
            audio_argv = ffmpeg.compile(
                ffmpeg.input(str(source))["a:0"].output("pipe:1", ac=1, ar=8000, acodec="pcm_s16le", f="s16le"),
                cmd="ffmpeg",
            )
            await run_ffmpeg(
                ctx,
                audio_argv,
                duration=info.duration,
                stall_timeout=self.stall_timeout,
                stdout_handler=rms.handler(),
                label="audio loudness",
                progress_range=(80, 100),
            )
            peaks = audio_peaks(rms.db, window, float(params.get("peak_z") or 3.0))
        candidates = clip_candidates(
            cuts,
            peaks,
            info.duration,
            float(params.get("pre") or 20.0),
            float(params.get("post") or 10.0),
            int(params.get("limit") or 20),
        )
        result = {
            "job_id": ctx.job_id,
            "input": str(source),
            "duration": round(info.duration, 3),
            "fps": round(info.fps, 3),
            "cuts": cuts,
            "scenes": scenes_from_cuts(cuts, info.duration),
            "audio_peaks": peaks,
            "candidates": candidates,
            "frames": collector.frames,
            "analysis_fps": round(collector.frames / video_seconds, 1) if video_seconds > 0 else None,
            "analysis_size": [width, height],
        }
        if params.get("output"):
            output = Path(params["output"])
            output.parent.mkdir(parents=True, exist_ok=True)
            temp = temp_path_for(output)
            temp.write_text(json.dumps(result, indent=1), encoding="utf-8")
            commit(temp, output, overwrite=True)
            result["output"] = str(output)
        return result

    # -- derivatives in the asset index ------------------------------------------------------------
    async def _record(self, job_type: str, source: Path, output: Path) -> None:
        kind = DERIVATIVE_KINDS.get(job_type)
        if kind is None or "assets" not in self.hub.config.components:
            return
        try:
            from ..assets import record_derivative  # type: ignore[attr-defined]
        except ImportError:
            return
        try:
            await record_derivative(self.hub, str(source), kind, str(output))
        except Exception:
            _LOGGER.exception("Could not record %s %s for %s in the asset index", kind, output, source)


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"
