"""Drives: watch folders for finished recordings, report each once as `file_closed`, show free space.

Public surface (names are part of the contract):

- event `file_closed` — `path`, `size`, `mtime`, `drive` (+ `relative_path`, `name`, `quiet_seconds`)
- services `drives.rescan` (`drive` optional; response: files found / queued per drive) and
  `drives.probe` (`path`; response: exists, readable, writable, free space, filesystem, …)
- entities `sensor.drive_<name>_free`, `_total` (GiB, exact bytes in attributes), `_used_percent`,
  `_files_watched`, `_waiting` (files not yet finished, with the reason in attributes)
- trigger platform `file_closed` (see trigger.py)
- `await hub.data[DRIVES].notify_closed(path)` (or `await notify_closed(hub, path)`): the OBS
  integration calls it on `obs_recording_stopped` to skip the quiet window.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import voluptuous as vol

from streamops.assets.roots import register_drive_root
from streamops.core import Hub, HubKey, ServiceCall, ServiceError, SupportsResponse
from streamops.helpers.event import async_track_state_change_event
from streamops.recorder import DATABASE

from .config import CONFIG_SCHEMA, DriveConfig
from .manager import EVENT_FILE_CLOSED, OBS_RECORDING, Drive, DriveManager
from .probe import probe_path
from .store import HandledStore

_LOGGER = logging.getLogger(__name__)

DOMAIN = "drives"
DRIVES: HubKey[DriveManager] = HubKey("drives")

__all__ = ["CONFIG_SCHEMA", "DOMAIN", "DRIVES", "EVENT_FILE_CLOSED", "Drive", "DriveManager", "notify_closed"]


async def notify_closed(hub: Hub, path: str) -> bool:
    """Convenience for other integrations: see `DriveManager.notify_closed`. False without drives."""
    manager = hub.data.get(DRIVES)
    return await manager.notify_closed(path) if manager is not None else False


RESCAN_SCHEMA = vol.Schema({vol.Optional("drive"): vol.Any(str, [str])})
PROBE_SCHEMA = vol.Schema({vol.Required("path"): vol.All(str, vol.Length(min=1))})


async def async_setup(hub: Hub, config: dict[str, dict[str, Any]]) -> bool:
    drives = [DriveConfig.from_options(name, options, hub.config.config_dir) for name, options in config.items()]
    for drive in drives:
        if drive.root not in hub.config.allowed_dirs:
            hub.config.allowed_dirs.append(drive.root)
        register_drive_root(hub, drive.name, drive.root)
    store = HandledStore(hub.data[DATABASE])
    await store.load()
    manager = DriveManager(hub, store, drives)
    hub.data[DRIVES] = manager
    # Free-space entities exist from setup on (a statvfs per drive), not only once watching starts:
    # automations and `simulate` find a drive's path through them (state_attr(..., 'path')).
    for drive in manager.drives.values():
        await drive.async_update_stats()

    async def rescan(call: ServiceCall) -> dict[str, Any]:
        wanted = call.data.get("drive")
        names = list(manager.drives) if wanted is None else ([wanted] if isinstance(wanted, str) else wanted)
        unknown = [name for name in names if name not in manager.drives]
        if unknown:
            raise ServiceError(
                f"drives.rescan: unknown drive {', '.join(unknown)} (configured: {', '.join(manager.drives) or 'none'})"
            )
        return {"drives": {name: await manager.drives[name].rescan() for name in names}}

    async def probe(call: ServiceCall) -> dict[str, Any]:
        result = await asyncio.to_thread(probe_path, call.data["path"])
        result["inside_drive"] = hub.config.is_allowed_path(call.data["path"]) if result["exists"] else False
        return result

    hub.services.async_register(
        DOMAIN,
        "rescan",
        rescan,
        RESCAN_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
        description="Scan drives for finished files that appeared while nobody was watching.",
        fields={"drive": {"description": "Drive name (default: all drives)", "required": False}},
    )
    hub.services.async_register(
        DOMAIN,
        "probe",
        probe,
        PROBE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
        description="Test a folder: exists, readable, writable, free space, filesystem type.",
        fields={"path": {"description": "Absolute folder path", "required": True}},
    )
    async_track_state_change_event(hub, OBS_RECORDING, manager.on_recording_changed)
    hub.async_on_start(manager.async_start)
    hub.async_on_stop(manager.async_stop)
    return True
