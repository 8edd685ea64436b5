"""system_monitor: real psutil sensors; the GPU path through NVML with the real library missing here,
and with NVML's functions replaced by real-shaped values (the one allowed fake: there is no GPU here)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pynvml
import pytest

from integrations.system_monitor import CONFIG_SCHEMA, SYSTEM_MONITOR, async_setup
from streamops.core import Hub
from tests.helpers_jobs import fast_config, process_job_type, process_status, setup_jobs, wait_for

GB = 1024**3


async def _setup(hub: Hub, **config: Any) -> None:
    assert await async_setup(hub, CONFIG_SCHEMA({"scan_interval": 3600, **config}))


async def test_cpu_memory_disk_sensors_from_psutil(hub: Hub, tmp_path: Path) -> None:
    await _setup(hub, disks=[str(tmp_path), {"path": "/definitely/not/here", "name": "Gone Drive"}], gpu=False)
    cpu = hub.states.get("sensor.cpu_percent")
    assert cpu is not None and 0.0 <= float(cpu.state) <= 100.0 and cpu.attributes["unit_of_measurement"] == "%"
    memory = hub.states.get("sensor.memory_percent")
    assert 0.0 < float(memory.state) <= 100.0 and memory.attributes["total_gb"] > 0
    # Rates need two samples: unknown after the first, numbers after the second.
    assert hub.states.get("sensor.disk_read_rate").state == "unknown"
    monitor = hub.data[SYSTEM_MONITOR]
    await monitor.async_update()
    assert float(hub.states.get("sensor.disk_read_rate").state) >= 0
    assert hub.states.get("sensor.disk_write_rate").attributes["unit_of_measurement"] == "MB/s"
    free = [s for s in hub.states.async_all("sensor") if s.attributes.get("path") == str(tmp_path)]
    assert len(free) == 1 and float(free[0].state) > 0 and free[0].attributes["unit_of_measurement"] == "GB"
    gone = hub.states.get("sensor.disk_gone_drive_free")
    assert gone.state == "unavailable" and "FileNotFoundError" in gone.attributes["reason"]
    gpu = hub.states.get("sensor.gpu_percent")
    assert gpu.state == "unavailable" and "gpu: false" in gpu.attributes["reason"]


async def test_no_nvidia_library_means_unavailable_gpu_sensors_without_an_error_loop(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The real pynvml on a machine without libnvidia-ml: nvmlInit raises NVMLError_LibraryNotFound.
    calls = 0
    real_init = pynvml.nvmlInit

    def counting_init() -> None:
        nonlocal calls
        calls += 1
        real_init()

    monkeypatch.setattr(pynvml, "nvmlInit", counting_init)
    caplog.set_level(logging.INFO)
    await _setup(hub)
    for _ in range(5):
        await hub.data[SYSTEM_MONITOR].async_update()
    for entity in ("sensor.gpu_percent", "sensor.gpu_memory_percent", "sensor.gpu_encoder_sessions"):
        state = hub.states.get(entity)
        assert state.state == "unavailable", entity
        assert state.attributes["reason"].startswith("NVMLError_LibraryNotFound"), state.attributes
    assert calls == 1  # retried only after gpu_retry_interval, not on every scan
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "system_monitor" in r.name]
    assert sum("No NVIDIA GPU sensors" in r.getMessage() for r in caplog.records) == 1


class FakeNvml:
    """Two GPUs answering like NVML does (ctypes structs from pynvml itself)."""

    def __init__(self) -> None:
        self.util = [(55, 20), (12, 5)]
        self.memory = [(8 * GB, 2 * GB), (24 * GB, 18 * GB)]
        self.sessions = [2, 1]
        self.encoder_error: list[BaseException | None] = [None, None]
        self.lost = False
        self.init_calls = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def init() -> None:
            self.init_calls += 1

        def utilization(handle: int) -> Any:
            if self.lost:
                raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
            util = pynvml.c_nvmlUtilization_t()
            util.gpu, util.memory = self.util[handle]
            return util

        def memory(handle: int) -> Any:
            info = pynvml.c_nvmlMemory_t()
            info.total, info.used = self.memory[handle]
            info.free = info.total - info.used
            return info

        def sessions(handle: int) -> list[Any]:
            error = self.encoder_error[handle]
            if error is not None:
                raise error
            return [pynvml.c_nvmlEncoderSession_t() for _ in range(self.sessions[handle])]

        for name, fn in {
            "nvmlInit": init,
            "nvmlShutdown": lambda: None,
            "nvmlDeviceGetCount": lambda: 2,
            "nvmlDeviceGetHandleByIndex": lambda i: i,
            "nvmlDeviceGetName": lambda h: ["NVIDIA GeForce RTX 4070", b"NVIDIA RTX A5000"][h],
            "nvmlDeviceGetUtilizationRates": utilization,
            "nvmlDeviceGetMemoryInfo": memory,
            "nvmlDeviceGetEncoderSessions": sessions,
            "nvmlDeviceGetEncoderUtilization": lambda h: [30 if h == 0 else 0, 167000],
        }.items():
            monkeypatch.setattr(pynvml, name, fn)


async def test_gpu_sensors_per_gpu_and_aggregated(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml()
    nvml.install(monkeypatch)
    await _setup(hub)
    assert hub.states.get("sensor.gpu_percent").state == "55.0"  # the busiest GPU
    assert hub.states.get("sensor.gpu_percent").attributes["encoder_percent"] == 30.0
    assert hub.states.get("sensor.gpu_percent").attributes["gpus"] == ["NVIDIA GeForce RTX 4070", "NVIDIA RTX A5000"]
    assert hub.states.get("sensor.gpu_memory_percent").state == "75.0"
    assert hub.states.get("sensor.gpu_encoder_sessions").state == "3"
    assert hub.states.get("sensor.gpu0_percent").state == "55.0"
    assert hub.states.get("sensor.gpu1_percent").state == "12.0"
    assert hub.states.get("sensor.gpu0_memory_percent").state == "25.0"
    assert hub.states.get("sensor.gpu1_memory_percent").attributes["total_gb"] == round(24 * GB / 1e9, 2)
    assert hub.states.get("sensor.gpu1_encoder_sessions").state == "1"
    assert hub.states.get("sensor.gpu1_percent").attributes["gpu_name"] == "NVIDIA RTX A5000"

    # Encoder sessions not supported on one board: only that sensor is unavailable, with the reason.
    nvml.encoder_error[1] = pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
    await hub.data[SYSTEM_MONITOR].async_update()
    state = hub.states.get("sensor.gpu1_encoder_sessions")
    assert state.state == "unavailable" and state.attributes["reason"].startswith("NVMLError_NotSupported")
    assert hub.states.get("sensor.gpu_encoder_sessions").state == "2"
    assert hub.states.get("sensor.gpu1_percent").state == "12.0"

    # The GPU falls off the bus: everything unavailable with the reason, no exception, no loop.
    nvml.lost = True
    await hub.data[SYSTEM_MONITOR].async_update()
    for entity in ("sensor.gpu_percent", "sensor.gpu0_percent", "sensor.gpu1_memory_percent"):
        state = hub.states.get(entity)
        assert state.state == "unavailable" and "GpuIsLost" in state.attributes["reason"], entity
    await hub.data[SYSTEM_MONITOR].async_update()
    assert nvml.init_calls == 1  # not re-initialised on every scan


async def test_busy_gpu_engages_the_gpu_guardrail_and_pauses_a_heavy_job(
    db_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    nvml = FakeNvml()
    nvml.install(monkeypatch)
    nvml.util = [(10, 5), (5, 1)]
    await _setup(db_hub)
    queue = await setup_jobs(
        db_hub, fast_config(guardrails={"gpu_percent": 40, "cpu_percent": 100, "sustain_seconds": 0})
    )
    pids: list[int] = []
    queue.register_type(process_job_type("media.proxy", pids=pids))
    job_id = await queue.submit("media.proxy", {})
    # (the CPU guard is set to 100 %: this machine's real load must not interfere)
    await wait_for(lambda: pids and process_status(pids[0]) in ("running", "sleeping"), what="running")
    nvml.util = [(90, 50), (5, 1)]  # OBS starts encoding on GPU 0
    await db_hub.data[SYSTEM_MONITOR].async_update()
    await wait_for(lambda: process_status(pids[0]) == "stopped", timeout=1, what="paused by GPU guard")
    guard = db_hub.states.get("binary_sensor.guardrail_gpu")
    assert guard.state == "on" and "GPU 90% stayed above 40%" in guard.attributes["reason"]
    nvml.util = [(20, 5), (5, 1)]
    await db_hub.data[SYSTEM_MONITOR].async_update()
    await wait_for(lambda: process_status(pids[0]) in ("running", "sleeping"), timeout=1, what="resumed")
    await queue.cancel(job_id)


async def test_background_loop_samples_every_scan_interval(hub: Hub) -> None:
    await async_setup(hub, CONFIG_SCHEMA({"scan_interval": 0.2, "gpu": False}))
    first = hub.states.get("sensor.memory_percent").last_updated
    updates: list[float] = []
    hub.bus.async_listen(
        "state_changed",
        lambda e: updates.append(1.0),
        event_filter=lambda e: e.data["entity_id"] == "sensor.disk_read_rate",
    )
    await wait_for(lambda: len(updates) >= 1, timeout=2, what="a second sample")
    await asyncio.sleep(0)
    assert hub.states.get("sensor.disk_read_rate").state != "unknown"
    assert hub.states.get("sensor.memory_percent").last_updated >= first


def test_config_schema_defaults_and_errors() -> None:
    config = CONFIG_SCHEMA({})
    assert config == {"scan_interval": 2.0, "disks": [], "gpu": True, "gpu_retry_interval": 300.0}
    with pytest.raises(Exception, match="scan_interval"):
        CONFIG_SCHEMA({"scan_interval": 0})
    with pytest.raises(Exception, match="path"):
        CONFIG_SCHEMA({"disks": [{"name": "x"}]})
