"""Trigger platform `file_closed`: run an automation when a finished file is reported.

    triggers:
      - trigger: file_closed
        drive: recordings            # optional, one name or a list
        path_glob: "**/*.mkv"        # optional; relative to the drive root, or absolute
        extensions: [mkv, mp4]       # optional; case-insensitive
        min_quiet_seconds: 30        # optional; longer than the drive's own window

`min_quiet_seconds` longer than the drive's window waits the difference and re-checks size and mtime;
if the file changed meanwhile, this trigger does not fire — the drive reports the changed file again
once it is quiet, and the trigger considers it then. A value shorter than the drive's window cannot
make the report earlier (the drive's window is the floor).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import voluptuous as vol

from streamops.core import Event, Hub, Unsubscribe
from streamops.helpers.trigger_platform import TriggerAction, TriggerInfo, TriggerPlatform

from .globs import glob_validator, match_any
from .manager import EVENT_FILE_CLOSED

PLATFORM = "file_closed"


def _platform_key(value: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise vol.Invalid("a trigger must be a mapping")
    if value.get("trigger", value.get("platform")) != PLATFORM:
        raise vol.Invalid(f"expected trigger: {PLATFORM}")
    return value


FILE_CLOSED_SCHEMA = vol.All(
    _platform_key,
    vol.Schema(
        {
            vol.Exclusive("trigger", "platform"): PLATFORM,
            vol.Exclusive("platform", "platform"): PLATFORM,
            vol.Optional("id"): vol.Any(str, int),
            vol.Optional("alias"): str,
            vol.Optional("description"): str,
            vol.Optional("enabled"): vol.Any(bool, str),
            vol.Optional("variables"): dict,
            vol.Optional("drive"): vol.Any(str, [str]),
            vol.Optional("path_glob"): glob_validator,
            vol.Optional("extensions"): vol.All(
                lambda v: [v] if isinstance(v, str) else v, [vol.All(str, vol.Length(min=1))]
            ),
            vol.Optional("min_quiet_seconds"): vol.All(vol.Coerce(float), vol.Range(min=0, max=86400)),
        }
    ),
)


async def _attach(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    drives = config.get("drive")
    drive_names = {drives} if isinstance(drives, str) else set(drives or ())
    globs: list[str] = config.get("path_glob") or []
    extensions = {("." + e.lower().lstrip(".")) for e in config.get("extensions") or []}
    min_quiet: float = config.get("min_quiet_seconds") or 0.0
    pending: set[asyncio.Task[Any]] = set()

    def wanted(event: Event) -> bool:
        data = event.data
        if drive_names and data.get("drive") not in drive_names:
            return False
        if extensions and os.path.splitext(str(data.get("path", "")))[1].lower() not in extensions:
            return False
        return not globs or match_any(globs, str(data.get("path", "")), data.get("relative_path"))

    def payload(event: Event) -> dict[str, Any]:
        data = dict(event.data)
        return {
            "platform": PLATFORM,
            **data,
            "event": event,
            "description": f"file closed: {data.get('path')}",
        }

    async def fire_after_extra_quiet(event: Event, extra: float) -> None:
        path = str(event.data["path"])
        await asyncio.sleep(extra)
        try:
            st = await asyncio.to_thread(os.stat, path)
        except OSError:
            return
        if st.st_size == event.data["size"] and abs(st.st_mtime_ns / 1e9 - float(event.data["mtime"])) < 1e-6:
            result = action(payload(event), event.context)
            if asyncio.iscoroutine(result):
                await result

    def listener(event: Event) -> Any:
        extra = min_quiet - float(event.data.get("quiet_seconds") or 0.0)
        if min_quiet and extra > 0:
            task = hub.async_create_background_task(fire_after_extra_quiet(event, extra), "file_closed trigger wait")
            pending.add(task)
            task.add_done_callback(pending.discard)
            return None
        return action(payload(event), event.context)

    unsub = hub.bus.async_listen(EVENT_FILE_CLOSED, listener, event_filter=wanted)

    def remove() -> None:
        unsub()
        for task in list(pending):
            task.cancel()

    return remove


TRIGGERS: dict[str, TriggerPlatform] = {PLATFORM: TriggerPlatform(FILE_CLOSED_SCHEMA, _attach)}
