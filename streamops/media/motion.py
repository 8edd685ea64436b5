"""Where the action is: a crop path for vertical/square exports that follows motion.

Frames are decoded small and grey (ffmpeg), consecutive frames are differenced, HUD margins are
masked out (a chat box or alert overlay moves all the time and must not steer the crop), and the
energy-weighted horizontal centroid of the change is taken per segment. The path is smoothed and
pulled towards the centre (bias), then turned into crop positions in source pixels.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from .ffmpeg_runner import FfmpegProcess

ANALYSIS_WIDTH = 160
ANALYSIS_FPS = 6.0
MAX_KEYPOINTS = 64


@dataclass
class Margins:
    """Fractions of the frame (0..0.45) at each edge ignored by the motion analysis."""

    top: float = 0.0
    bottom: float = 0.0
    left: float = 0.0
    right: float = 0.0


@dataclass
class MotionTrack:
    width: int
    height: int
    fps: float
    margins: Margins
    centroids: list[float] = field(default_factory=list)  # 0..1 per frame pair, nan when still
    energies: list[float] = field(default_factory=list)
    _previous: np.ndarray | None = None
    _mask: np.ndarray | None = None

    def _build_mask(self) -> np.ndarray:
        mask = np.ones((self.height, self.width), dtype=np.float32)
        m = self.margins
        top, bottom = int(self.height * m.top), int(self.height * m.bottom)
        left, right = int(self.width * m.left), int(self.width * m.right)
        if top:
            mask[:top] = 0
        if bottom:
            mask[self.height - bottom :] = 0
        if left:
            mask[:, :left] = 0
        if right:
            mask[:, self.width - right :] = 0
        return mask

    def feed(self, frame: np.ndarray) -> None:
        current = frame.astype(np.int16)
        if self._previous is not None:
            if self._mask is None:
                self._mask = self._build_mask()
            diff = np.abs(current - self._previous).astype(np.float32)
            diff[diff < 12] = 0  # encoder noise is not motion
            diff *= self._mask
            columns = diff.sum(axis=0)
            energy = float(columns.sum())
            if energy > 0:
                xs = (np.arange(self.width, dtype=np.float32) + 0.5) / self.width
                self.centroids.append(float((columns * xs).sum() / energy))
            else:
                self.centroids.append(float("nan"))
            self.energies.append(energy / max(1.0, float(self._mask.sum())))
        self._previous = current

    def handler(self):  # type: ignore[no-untyped-def]
        size = self.width * self.height

        async def handle(stream: asyncio.StreamReader, process: FfmpegProcess) -> None:
            count = 0
            while True:
                try:
                    data = await stream.readexactly(size)
                except asyncio.IncompleteReadError:
                    return
                self.feed(np.frombuffer(data, dtype=np.uint8).reshape(self.height, self.width))
                count += 1
                if count % 6 == 0:
                    process.note_progress(count / self.fps)

        return handle


def crop_path(
    track: MotionTrack,
    duration: float,
    *,
    source_width: int,
    crop_width: int,
    segment: float = 1.0,
    centre_bias: float = 0.35,
    min_energy: float = 0.15,
) -> list[tuple[float, float]]:
    """(time, crop x in source pixels) keypoints, one per segment, smoothed and centre-biased."""
    if duration <= 0:
        return [(0.0, float((source_width - crop_width) // 2))]
    segment = max(segment, duration / MAX_KEYPOINTS)
    count = max(1, int(np.ceil(duration / segment)))
    per = max(1, round(segment * track.fps))
    centres = []
    for index in range(count):
        cs = np.asarray(track.centroids[index * per : (index + 1) * per], dtype=np.float64)
        es = np.asarray(track.energies[index * per : (index + 1) * per], dtype=np.float64)
        valid = ~np.isnan(cs) & (es >= min_energy)
        if valid.any():
            centres.append(float(np.average(cs[valid], weights=es[valid])))
        else:
            centres.append(float("nan"))
    # Still segments hold the previous position (a camera that jumps to centre on a pause looks wrong).
    last = 0.5
    held = []
    for value in centres:
        last = value if not np.isnan(value) else last
        held.append(last)
    smoothed = np.convolve(np.pad(held, 1, mode="edge"), np.ones(3) / 3, mode="valid") if len(held) > 2 else held
    points = []
    half = crop_width / 2
    for index, centre in enumerate(smoothed):
        biased = centre_bias * 0.5 + (1 - centre_bias) * float(centre)
        x = min(max(0.0, biased * source_width - half), float(source_width - crop_width))
        t = min(duration, (index + 0.5) * segment)
        points.append((round(t, 3), round(x, 1)))
    return points
