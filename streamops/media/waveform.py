"""Waveform peaks for the dashboard: N buckets of min/max and RMS from decoded PCM.

ffmpeg decodes the first audio track to mono s16le on its stdout; this module folds the stream
into buckets as it arrives (constant memory, whatever the recording's length).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np

from .ffmpeg_runner import FfmpegProcess

CHUNK = 1 << 16


class PcmBlocks:
    """Cuts a stream of mono s16le PCM into fixed-size blocks (scaled to -1..1) for `on_blocks`.

    The waveform's peak buckets and the scene detector's loudness windows both read ffmpeg's PCM
    this way; a partial block is kept until the next chunk (`remainder()` hands it over at the end).
    """

    def __init__(self, block_size: int) -> None:
        self.block_size = max(1, block_size)
        self._pending = np.empty(0, dtype=np.int16)
        self.samples = 0

    def on_blocks(self, blocks: np.ndarray) -> None:  # rows of `block_size` float32 samples
        raise NotImplementedError

    def feed(self, data: bytes) -> None:
        samples = np.frombuffer(data, dtype="<i2")
        self.samples += samples.size
        if self._pending.size:
            samples = np.concatenate((self._pending, samples))
        full = samples.size // self.block_size * self.block_size
        if full:
            self.on_blocks(samples[:full].reshape(-1, self.block_size).astype(np.float32) / 32768.0)
        self._pending = samples[full:].copy()

    def remainder(self) -> np.ndarray | None:
        """The last, partial block (scaled), once; None when the stream ended on a block boundary."""
        if not self._pending.size:
            return None
        block = self._pending.astype(np.float32) / 32768.0
        self._pending = np.empty(0, dtype=np.int16)
        return block

    def finish(self) -> None:
        """Called by `pcm_handler` at the end of the stream; the partial block is dropped by default."""


class PeakAccumulator(PcmBlocks):
    """Folds int16 samples into fixed-size buckets of (min, max, rms), all scaled to -1..1."""

    def __init__(self, expected_samples: int, buckets: int) -> None:
        self.buckets = max(1, buckets)
        super().__init__(math.ceil(max(1, expected_samples) / self.buckets))
        self.mins: list[float] = []
        self.maxs: list[float] = []
        self.rms: list[float] = []

    @property
    def per_bucket(self) -> int:
        return self.block_size

    def on_blocks(self, blocks: np.ndarray) -> None:
        self.mins.extend(np.round(blocks.min(axis=1), 4).tolist())
        self.maxs.extend(np.round(blocks.max(axis=1), 4).tolist())
        self.rms.extend(np.round(np.sqrt(np.mean(blocks * blocks, axis=1)), 4).tolist())

    def finish(self) -> None:
        block = self.remainder()
        if block is not None:
            self.on_blocks(block.reshape(1, -1))
        # A duration estimate a little short of the truth leaves extra buckets: fold them into the last.
        while len(self.mins) > self.buckets:
            self.mins[-2] = min(self.mins[-2], self.mins.pop())
            self.maxs[-2] = max(self.maxs[-2], self.maxs.pop())
            self.rms[-2] = max(self.rms[-2], self.rms.pop())

    def as_dict(self, sample_rate: int, duration: float) -> dict[str, Any]:
        return {
            "version": 1,
            "sample_rate": sample_rate,
            "duration": round(duration, 3),
            "samples": self.samples,
            "samples_per_bucket": self.per_bucket,
            "buckets": len(self.mins),
            "peaks": [[lo, hi] for lo, hi in zip(self.mins, self.maxs, strict=True)],
            "rms": self.rms,
        }


def pcm_handler(accumulator: PcmBlocks, sample_rate: int):  # type: ignore[no-untyped-def]
    """A stdout handler for run_ffmpeg that feeds the accumulator and reports decoded seconds."""

    async def handle(stream: asyncio.StreamReader, process: FfmpegProcess) -> None:
        carry = b""
        while True:
            data = await stream.read(CHUNK)
            if not data:
                break
            data = carry + data
            usable = len(data) // 2 * 2
            carry = data[usable:]
            accumulator.feed(data[:usable])
            process.note_progress(accumulator.samples / sample_rate)
        accumulator.finish()

    return handle
