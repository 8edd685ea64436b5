"""CPU, memory, disk I/O and free space from psutil (cheap calls, run in the executor with the GPU sample)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class DiskFree:
    path: str
    total: int | None = None
    free: int | None = None
    percent_used: float | None = None
    error: str | None = None


@dataclass
class HostSample:
    cpu_percent: float
    memory_percent: float
    memory_used: int
    memory_total: int
    read_rate: float | None  # bytes/s since the previous sample (None on the first one)
    write_rate: float | None
    disks: list[DiskFree] = field(default_factory=list)


class HostSampler:
    """Keeps the previous counters so rates are over the scan interval, not since boot."""

    def __init__(self, disk_paths: list[str]) -> None:
        self.disk_paths = disk_paths
        self._last_io: tuple[float, int, int] | None = None
        psutil.cpu_percent(interval=None)  # the first call only primes the counter
        self._primed_at = time.monotonic()
        self._io_error: str | None = None

    def sample(self) -> HostSample:
        """Blocking for at most 0.2 s on the very first call (runs in the executor)."""
        settle = self._primed_at + 0.2 - time.monotonic()
        if settle > 0:  # a CPU percentage over a few microseconds is noise (0 or 100)
            time.sleep(settle)
        cpu = psutil.cpu_percent(interval=None)
        mem = psutil.virtual_memory()
        read_rate = write_rate = None
        try:
            io = psutil.disk_io_counters()
        except (OSError, RuntimeError) as err:
            io = None
            self._io_error = str(err)
        if io is not None:
            now = time.monotonic()
            if self._last_io is not None:
                then, read, written = self._last_io
                elapsed = max(now - then, 1e-6)
                read_rate = max(0.0, (io.read_bytes - read) / elapsed)
                write_rate = max(0.0, (io.write_bytes - written) / elapsed)
            self._last_io = (now, io.read_bytes, io.write_bytes)
        disks = []
        for path in self.disk_paths:
            entry = DiskFree(path)
            try:
                usage = psutil.disk_usage(str(Path(path)))
                entry.total, entry.free, entry.percent_used = usage.total, usage.free, usage.percent
            except OSError as err:
                entry.error = f"{type(err).__name__}: {err.strerror or err}"
            disks.append(entry)
        return HostSample(cpu, mem.percent, mem.used, mem.total, read_rate, write_rate, disks)

    @property
    def io_error(self) -> str | None:
        return self._io_error
