"""System monitor: CPU, memory, disk I/O, free space (psutil) and NVIDIA GPU load (NVML) as sensors.

The job guardrails read `sensor.cpu_percent` and `sensor.gpu_percent`. Entities:

- `sensor.cpu_percent`, `sensor.memory_percent` (%), `sensor.disk_read_rate`, `sensor.disk_write_rate` (MB/s)
- `sensor.disk_<name>_free` (GB) for each entry of `disks:`
- `sensor.gpu_percent`, `sensor.gpu_memory_percent` (busiest GPU), `sensor.gpu_encoder_sessions` (sum),
  and per GPU `sensor.gpu<N>_percent`, `sensor.gpu<N>_memory_percent`, `sensor.gpu<N>_encoder_sessions`.
  Without a GPU or driver they are `unavailable` with a `reason` attribute (the NVML error).

Configuration::

    system_monitor:
      scan_interval: 2            # seconds
      disks: [/mnt/recordings, {path: /mnt/ssd, name: editing}]
      gpu: true                   # false: do not load NVML at all
      gpu_retry_interval: 300     # seconds between attempts to load NVML when it failed
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from streamops.core import Hub, HubKey

from .monitor import SystemMonitor

DOMAIN = "system_monitor"

SYSTEM_MONITOR: HubKey[SystemMonitor] = HubKey("system_monitor")


def _disk(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"path": value}
    return vol.Schema({vol.Required("path"): vol.All(str, vol.Length(min=1)), vol.Optional("name"): str})(value)


CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("scan_interval", default=2.0): vol.All(vol.Coerce(float), vol.Range(min=0.2, max=3600)),
        vol.Optional("disks", default=[]): [_disk],
        vol.Optional("gpu", default=True): bool,
        vol.Optional("gpu_retry_interval", default=300.0): vol.All(vol.Coerce(float), vol.Range(min=1)),
    }
)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    monitor = SystemMonitor(hub, config)
    hub.data[SYSTEM_MONITOR] = monitor
    # First sample during setup, so the guardrails see real values from the start.
    await monitor.async_update()
    hub.async_create_background_task(_run_later(monitor), "system_monitor")
    hub.async_on_stop(monitor.close)
    return True


async def _run_later(monitor: SystemMonitor) -> None:
    import asyncio

    await asyncio.sleep(monitor.scan_interval)
    await monitor.run()
