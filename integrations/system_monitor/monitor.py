"""The sampling loop: one executor call per scan (psutil + NVML), then the entity states on the loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streamops.core import STATE_UNAVAILABLE, STATE_UNKNOWN, Hub
from streamops.core.util import slugify

from .gpu import GpuSample, NvmlSampler
from .host import HostSample, HostSampler

_LOGGER = logging.getLogger(__name__)

MB = 1_000_000
GB = 1_000_000_000

GPU_SENSORS = ("gpu_percent", "gpu_memory_percent", "gpu_encoder_sessions")


def _round(value: float | None, digits: int = 1) -> float | str:
    return STATE_UNKNOWN if value is None else round(value, digits)


class SystemMonitor:
    def __init__(self, hub: Hub, config: dict[str, Any]) -> None:
        self.hub = hub
        self.config = config
        self.scan_interval: float = config["scan_interval"]
        self.disks: list[tuple[str, str]] = [(d["path"], d.get("name") or slugify(d["path"])) for d in config["disks"]]
        self.host = HostSampler([path for path, _ in self.disks])
        self.gpu: NvmlSampler | None = NvmlSampler(config["gpu_retry_interval"]) if config["gpu"] else None
        self._gpu_entities: set[str] = set()
        self._failures = 0

    def _sample(self) -> tuple[HostSample, list[GpuSample]]:
        host = self.host.sample()
        gpus = self.gpu.sample() if self.gpu is not None else []
        return host, gpus

    async def async_update(self) -> None:
        host, gpus = await self.hub.loop.run_in_executor(None, self._sample)
        self._publish_host(host)
        self._publish_gpus(gpus)

    async def run(self) -> None:
        while True:
            try:
                await self.async_update()
                self._failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failures += 1
                # Log the first failure in full and then only every 100th, never a loop of tracebacks.
                if self._failures == 1 or self._failures % 100 == 0:
                    _LOGGER.exception("System monitor sample failed (%s times in a row)", self._failures)
            await asyncio.sleep(self.scan_interval)

    def close(self) -> None:
        if self.gpu is not None:
            self.gpu.close()

    # -- host ------------------------------------------------------------------------------------
    def _publish_host(self, sample: HostSample) -> None:
        set_state = self.hub.states.async_set
        set_state(
            "sensor.cpu_percent",
            round(sample.cpu_percent, 1),
            {
                "friendly_name": "CPU",
                "unit_of_measurement": "%",
                "state_class": "measurement",
                "icon": "mdi:cpu-64-bit",
            },
        )
        set_state(
            "sensor.memory_percent",
            round(sample.memory_percent, 1),
            {
                "friendly_name": "Memory",
                "unit_of_measurement": "%",
                "state_class": "measurement",
                "icon": "mdi:memory",
                "total_gb": round(sample.memory_total / GB, 2),
            },
        )
        io_attrs: dict[str, Any] = {"unit_of_measurement": "MB/s", "state_class": "measurement"}
        if self.host.io_error:
            io_attrs["reason"] = f"disk counters unreadable: {self.host.io_error}"
        for entity, value, name in (
            ("sensor.disk_read_rate", sample.read_rate, "Disk read"),
            ("sensor.disk_write_rate", sample.write_rate, "Disk write"),
        ):
            set_state(entity, _round(None if value is None else value / MB, 2), {"friendly_name": name, **io_attrs})
        for (path, name), disk in zip(self.disks, sample.disks, strict=True):
            entity = f"sensor.disk_{slugify(name)}_free"
            attrs: dict[str, Any] = {
                "friendly_name": f"Free space {name}",
                "unit_of_measurement": "GB",
                "path": path,
                "icon": "mdi:harddisk",
            }
            if disk.error is not None:
                set_state(entity, STATE_UNAVAILABLE, {**attrs, "reason": disk.error})
                continue
            attrs["total_gb"] = round((disk.total or 0) / GB, 2)
            attrs["used_percent"] = disk.percent_used
            set_state(entity, round((disk.free or 0) / GB, 2), attrs)

    # -- GPU -------------------------------------------------------------------------------------
    def _publish_gpus(self, gpus: list[GpuSample]) -> None:
        set_state = self.hub.states.async_set
        base = {
            "gpu_percent": {"friendly_name": "GPU", "unit_of_measurement": "%", "icon": "mdi:expansion-card"},
            "gpu_memory_percent": {"friendly_name": "GPU memory", "unit_of_measurement": "%", "icon": "mdi:memory"},
            "gpu_encoder_sessions": {"friendly_name": "GPU encoder sessions", "icon": "mdi:video-box"},
        }
        if not gpus:
            if self.gpu is None:
                reason = "GPU monitoring disabled (system_monitor: gpu: false)"
            else:
                reason = self.gpu.unavailable_reason or "no GPU"
            for key, attrs in base.items():
                set_state(f"sensor.{key}", STATE_UNAVAILABLE, {**attrs, "reason": reason})
            for entity in self._gpu_entities:
                set_state(entity, STATE_UNAVAILABLE, {"reason": reason})
            return
        # Aggregates: the busiest GPU for load (what a guardrail cares about), the sum of sessions.
        values = {
            "gpu_percent": [g.gpu_percent for g in gpus],
            "gpu_memory_percent": [g.memory_percent for g in gpus],
            "gpu_encoder_sessions": [g.encoder_sessions for g in gpus],
        }
        for key, attrs in base.items():
            known = [v for v in values[key] if v is not None]
            extra: dict[str, Any] = {"gpus": [g.name for g in gpus]}
            if key != "gpu_encoder_sessions":
                extra.update(unit_of_measurement="%", state_class="measurement", aggregate="max over GPUs")
            else:
                extra.update(state_class="measurement", aggregate="sum over GPUs")
            if not known:
                errors = sorted({g.errors.get(key, "no data") for g in gpus})
                set_state(f"sensor.{key}", STATE_UNAVAILABLE, {**attrs, **extra, "reason": "; ".join(errors)})
                continue
            value = sum(known) if key == "gpu_encoder_sessions" else max(known)
            if key == "gpu_percent":
                extra["encoder_percent"] = max((g.encoder_percent or 0.0) for g in gpus)
            set_state(
                f"sensor.{key}", _round(value) if key != "gpu_encoder_sessions" else int(value), {**attrs, **extra}
            )
        for gpu in gpus:
            for key, value in (
                ("gpu_percent", gpu.gpu_percent),
                ("gpu_memory_percent", gpu.memory_percent),
                ("gpu_encoder_sessions", gpu.encoder_sessions),
            ):
                entity = f"sensor.gpu{gpu.index}_{key.removeprefix('gpu_')}"
                self._gpu_entities.add(entity)
                attrs = {
                    **base[key],
                    "friendly_name": f"GPU {gpu.index} {key.removeprefix('gpu_').replace('_', ' ')}",
                    "gpu_name": gpu.name,
                    "gpu_index": gpu.index,
                }
                if key == "gpu_memory_percent" and gpu.memory_total:
                    attrs["total_gb"] = round(gpu.memory_total / GB, 2)
                if value is None:
                    set_state(entity, STATE_UNAVAILABLE, {**attrs, "reason": gpu.errors.get(key, "no data")})
                else:
                    set_state(entity, int(value) if key == "gpu_encoder_sessions" else round(value, 1), attrs)
