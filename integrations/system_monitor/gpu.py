"""NVIDIA GPU load through NVML (pynvml from nvidia-ml-py).

No GPU, no driver or no library is a normal situation (a laptop, a container without
`--gpus`): the GPU sensors become `unavailable` with the NVML error as the reason, and the library
is re-tried only every `retry_interval` seconds — never an error loop in the log.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pynvml

_LOGGER = logging.getLogger(__name__)


@dataclass
class GpuSample:
    index: int
    name: str
    gpu_percent: float | None = None
    memory_percent: float | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    encoder_percent: float | None = None
    encoder_sessions: int | None = None
    errors: dict[str, str] = field(default_factory=dict)  # sensor -> why it is unavailable


def describe_nvml_error(err: BaseException) -> str:
    """`NVMLError_LibraryNotFound: NVML Shared Library Not Found` (class name says the cause)."""
    return f"{type(err).__name__}: {err}"


class NvmlSampler:
    def __init__(self, retry_interval: float = 300.0) -> None:
        self.retry_interval = retry_interval
        self.unavailable_reason: str | None = "not initialised yet"
        self._initialised = False
        self._next_try = 0.0
        self._handles: list[Any] = []
        self._names: list[str] = []

    def _init(self) -> bool:
        now = time.monotonic()
        if self._initialised:
            return True
        if now < self._next_try:
            return False
        self._next_try = now + self.retry_interval
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as err:
            reason = describe_nvml_error(err)
            if reason != self.unavailable_reason:
                _LOGGER.info("No NVIDIA GPU sensors (%s); retrying every %.0f s", reason, self.retry_interval)
            self.unavailable_reason = reason
            return False
        except OSError as err:  # a broken libnvidia-ml.so
            self.unavailable_reason = f"{type(err).__name__}: {err}"
            return False
        try:
            count = pynvml.nvmlDeviceGetCount()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            names = []
            for handle in handles:
                name = pynvml.nvmlDeviceGetName(handle)
                names.append(name.decode() if isinstance(name, bytes) else str(name))
        except pynvml.NVMLError as err:
            self.unavailable_reason = describe_nvml_error(err)
            self._shutdown()
            return False
        if not handles:
            self.unavailable_reason = "NVML found no NVIDIA GPU"
            self._shutdown()
            return False
        self._handles, self._names = handles, names
        self._initialised = True
        self.unavailable_reason = None
        _LOGGER.info("NVIDIA GPU sensors: %s", ", ".join(f"{i}: {n}" for i, n in enumerate(names)))
        return True

    def _shutdown(self) -> None:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass

    def sample(self) -> list[GpuSample]:
        """One sample per GPU; [] when NVML is unavailable (see `unavailable_reason`)."""
        if not self._init():
            return []
        samples = []
        for index, (handle, name) in enumerate(zip(self._handles, self._names, strict=True)):
            sample = GpuSample(index, name)
            try:
                util = pynvml.nvmlDeviceGetUtilizationRates(handle)
                sample.gpu_percent = float(util.gpu)
            except pynvml.NVMLError as err:
                sample.errors["gpu_percent"] = describe_nvml_error(err)
                if isinstance(err, pynvml.NVMLError_GpuIsLost):
                    self._lost(err)
                    return []
            try:
                mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
                sample.memory_total, sample.memory_used = int(mem.total), int(mem.used)
                sample.memory_percent = 100.0 * mem.used / mem.total if mem.total else None
            except pynvml.NVMLError as err:
                sample.errors["gpu_memory_percent"] = describe_nvml_error(err)
            try:
                sample.encoder_sessions = len(pynvml.nvmlDeviceGetEncoderSessions(handle))
            except pynvml.NVMLError as err:
                sample.errors["gpu_encoder_sessions"] = describe_nvml_error(err)
            try:
                enc = pynvml.nvmlDeviceGetEncoderUtilization(handle)
                sample.encoder_percent = float(enc[0])
            except (pynvml.NVMLError, TypeError, IndexError):
                pass
            samples.append(sample)
        return samples

    def _lost(self, err: BaseException) -> None:
        self.unavailable_reason = describe_nvml_error(err)
        self._initialised = False
        self._handles, self._names = [], []
        self._shutdown()

    def close(self) -> None:
        if self._initialised:
            self._initialised = False
            self._shutdown()
