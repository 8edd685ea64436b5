"""Scene cuts (PySceneDetect's ContentDetector) and loud moments (audio RMS) → clip candidates.

ffmpeg decodes and downscales the video (multi-threaded, to PySceneDetect's own 256-pixel analysis
width) and pipes raw BGR frames; the detector runs on a worker thread in batches, so the event
loop never blocks and decoding overlaps detection. The detection itself is PySceneDetect's
ContentDetector, unchanged: thresholds and results mean what its documentation says.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scenedetect import ContentDetector, FrameTimecode

from .ffmpeg_runner import FfmpegProcess
from .waveform import PcmBlocks, pcm_handler

ANALYSIS_WIDTH = 256
BATCH = 24


def _seconds(timecode: Any) -> float:
    value = getattr(timecode, "seconds", None)
    if isinstance(value, int | float):
        return float(value)
    return float(timecode.get_seconds())


def analysis_size(width: int, height: int, target: int = ANALYSIS_WIDTH) -> tuple[int, int]:
    if width <= target:
        return width // 2 * 2, height // 2 * 2
    h = max(2, round(height * target / width / 2) * 2)
    return target, h


class SceneCutCollector:
    """Feeds frames to a ContentDetector on one worker thread; collects cut times in seconds."""

    def __init__(self, fps: float, threshold: float, min_scene_len: float) -> None:
        self.fps = fps
        self.detector = ContentDetector(threshold=threshold, min_scene_len=max(1, round(min_scene_len * fps)))
        self.cuts: list[float] = []
        self.frames = 0
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="scenedetect")

    def _process(self, start: int, frames: list[np.ndarray]) -> None:
        for offset, frame in enumerate(frames):
            found = self.detector.process_frame(FrameTimecode(start + offset, self.fps), frame)
            self.cuts.extend(_seconds(tc) for tc in found)

    def _finish(self, last: int) -> None:
        found = self.detector.post_process(FrameTimecode(max(0, last), self.fps))
        self.cuts.extend(_seconds(tc) for tc in found or [])

    def handler(self, width: int, height: int):  # type: ignore[no-untyped-def]
        frame_size = width * height * 3

        async def handle(stream: asyncio.StreamReader, process: FfmpegProcess) -> None:
            loop = asyncio.get_running_loop()
            pending: list[asyncio.Future[None]] = []
            batch: list[np.ndarray] = []
            batch_start = 0
            try:
                while True:
                    try:
                        data = await stream.readexactly(frame_size)
                    except asyncio.IncompleteReadError:
                        break
                    batch.append(np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3))
                    self.frames += 1
                    if len(batch) >= BATCH:
                        pending.append(loop.run_in_executor(self._pool, self._process, batch_start, batch))
                        batch_start += len(batch)
                        batch = []
                        process.note_progress(self.frames / self.fps)
                        # Two batches in flight: decoding overlaps detection, memory stays bounded.
                        if len(pending) >= 2:
                            await pending.pop(0)
                if batch:
                    pending.append(loop.run_in_executor(self._pool, self._process, batch_start, batch))
                for future in pending:
                    await future
                await loop.run_in_executor(self._pool, self._finish, self.frames - 1)
            finally:
                self._pool.shutdown(wait=False, cancel_futures=True)

        return handle


@dataclass
class LoudnessTrack:
    window: float
    db: list[float]


class RmsCollector(PcmBlocks):
    """RMS loudness per window (dBFS) from mono s16le PCM on ffmpeg's stdout."""

    def __init__(self, sample_rate: int, window: float) -> None:
        super().__init__(int(sample_rate * window))
        self.sample_rate = sample_rate
        self.window = window
        self.db: list[float] = []

    def on_blocks(self, blocks: np.ndarray) -> None:
        rms = np.sqrt(np.mean(blocks * blocks, axis=1))
        self.db.extend((20 * np.log10(np.maximum(rms, 1e-5))).round(2).tolist())

    def handler(self):  # type: ignore[no-untyped-def]
        return pcm_handler(self, self.sample_rate)


def audio_peaks(db: list[float], window: float, min_z: float = 3.0, spacing: float = 5.0) -> list[dict[str, float]]:
    """Windows much louder than the recording's typical level (robust z-score), local maxima only."""
    if len(db) < 3:
        return []
    values = np.asarray(db, dtype=np.float64)
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) * 1.4826
    scale = max(mad, 1.5)  # a near-constant track must not turn every flicker into a peak
    z = (values - median) / scale
    order = np.argsort(-z)
    picked: list[int] = []
    reach = max(1, int(spacing / window))
    for index in order:
        if z[index] < min_z:
            break
        if all(abs(index - other) > reach for other in picked):
            picked.append(int(index))
    return sorted(
        (
            {"time": round(i * window + window / 2, 3), "db": round(float(values[i]), 2), "z": round(float(z[i]), 2)}
            for i in picked
        ),
        key=lambda peak: peak["time"],
    )


def clip_candidates(
    cuts: list[float], peaks: list[dict[str, float]], duration: float, pre: float, post: float, limit: int
) -> list[dict[str, Any]]:
    """A candidate around each loud moment, its start pulled back to a scene cut when one is near.

    Score (0..1): loudness dominates (z-score, saturating at 10), a cut near the start adds a bonus
    because a clip that starts on a scene change reads as deliberate.
    """
    candidates = []
    for peak in peaks:
        t = peak["time"]
        start = max(0.0, t - pre)
        end = min(duration, t + post)
        near = [c for c in cuts if start - pre / 2 <= c <= t]
        snapped = False
        if near:
            start = max(near[0], 0.0) if near[0] >= t - 2 * pre else start
            snapped = True
        score = 0.8 * min(1.0, peak["z"] / 10.0) + (0.2 if snapped else 0.0)
        candidates.append(
            {
                "start": round(start, 3),
                "end": round(end, 3),
                "peak": t,
                "score": round(score, 3),
                "reason": "loud moment" + (" after a scene cut" if snapped else ""),
            }
        )
    if not peaks and cuts:
        # No audio cues: offer the scenes themselves, longer ones first (they hold more).
        bounds = [0.0, *cuts, duration]
        scenes = [(a, b) for a, b in itertools.pairwise(bounds) if b - a >= 1.0]
        longest = max((b - a for a, b in scenes), default=1.0)
        for a, b in scenes:
            candidates.append(
                {
                    "start": round(a, 3),
                    "end": round(min(b, a + pre + post), 3),
                    "peak": None,
                    "score": round(0.5 * (b - a) / longest, 3),
                    "reason": "scene",
                }
            )
    candidates.sort(key=lambda c: -c["score"])
    return candidates[:limit]


def scenes_from_cuts(cuts: list[float], duration: float) -> list[list[float]]:
    bounds = [0.0, *[c for c in cuts if 0 < c < duration], duration]
    return [[round(a, 3), round(b, 3)] for a, b in itertools.pairwise(bounds) if b > a]


def frames_expected(duration: float, fps: float) -> int:
    return max(1, math.floor(duration * fps))
