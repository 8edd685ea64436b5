"""The drives runtime: one `Drive` per configured folder (watcher + stability tracker + entities),
and the `DriveManager` that owns them, reports `file_closed` once per finished file, and answers
`notify_closed` from the OBS integration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

import psutil
from watchfiles import Change

from streamops.core import Event, Hub, State

from .config import DriveConfig
from .globs import PathFilter
from .openfiles import paths_open_for_writing
from .scan import relative_to, scan
from .stability import REASON_WRITING, StabilityTracker, StableFile
from .store import HandledStore
from .watcher import DriveWatcher, is_probe

_LOGGER = logging.getLogger(__name__)

EVENT_FILE_CLOSED = "file_closed"
OBS_RECORDING = "binary_sensor.obs_recording"
GIB = 1024**3


class Drive:
    def __init__(self, hub: Hub, manager: DriveManager, config: DriveConfig) -> None:
        self.hub = hub
        self.manager = manager
        self.config = config
        self.name = config.name
        self.root = str(config.root)
        self._prefix = self.root.rstrip("/") + "/"
        self.filter = PathFilter(config.watch, config.ignore, config.case_sensitive)
        self.tracker = StabilityTracker(
            config.min_quiet_seconds, self._on_stable, check_open_files=config.check_open_files
        )
        self.watcher = DriveWatcher(config.root, config.poll, config.poll_interval, self._on_changes)
        self.known: set[str] = set()
        self.ready = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._publish_handle: asyncio.TimerHandle | None = None
        self._stopping = False

    # -- paths -----------------------------------------------------------------------------------
    def contains(self, path: str) -> bool:
        return path == self.root or path.startswith(self._prefix)

    def relative(self, path: str) -> str:
        return relative_to(self.root, path)

    def wants(self, path: str) -> bool:
        return self.contains(path) and path != self.root and self.filter.wanted(self.relative(path))

    # -- life cycle ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Wait for the folder (an unplugged drive comes back), pick events or polling, then watch.

        When the folder disappears while watched (unmounted, deleted), native watchers go silent for
        good even after it is back; the watcher is then stopped, and a new one starts (followed by a
        rescan) as soon as the folder exists again.
        """
        self._tasks = [
            self.hub.async_create_background_task(self.tracker.run(), f"drives.{self.name}.stability"),
            self.hub.async_create_background_task(self._stats_loop(), f"drives.{self.name}.stats"),
        ]
        first = True
        while not self._stopping:
            await self._wait_for_root()
            if first:
                await self.watcher.choose_mode()
            else:
                previous = self.watcher
                self.watcher = DriveWatcher(
                    self.config.root, self.config.poll, self.config.poll_interval, self._on_changes
                )
                self.watcher.polling, self.watcher.mode_reason = previous.polling, previous.mode_reason
            watcher_task = self.hub.async_create_background_task(self.watcher.run(), f"drives.{self.name}.watcher")
            await self.watcher.started.wait()
            await asyncio.sleep(0.1)  # let the native watcher arm before the scan, so nothing falls between
            if self.config.scan_on_start or not first:
                await self.rescan()
            first = False
            self.ready.set()
            self.schedule_publish()
            try:
                await watcher_task
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Drive %s: watcher failed; restarting it", self.name)
                await asyncio.sleep(1.0)
            if not self._stopping:
                _LOGGER.warning("Drive %s: folder %s went away; waiting for it to come back", self.name, self.root)

    async def _wait_for_root(self) -> None:
        warned = False
        while not await asyncio.to_thread(os.path.isdir, self.root):
            if not warned:
                _LOGGER.warning("Drive %s: folder %s is not available; waiting for it", self.name, self.root)
                warned = True
            await self.async_update_stats()
            await asyncio.sleep(min(self.config.stats_interval, 2.0))

    async def async_stop(self) -> None:
        self._stopping = True
        self.watcher.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- events from the watcher -----------------------------------------------------------------
    def _on_changes(self, changes: set[tuple[Change, str]]) -> None:
        for change, path in changes:
            if path == self.root and change == Change.deleted:
                self.watcher.stop()  # the run loop waits for the folder and starts a fresh watcher
                continue
            if is_probe(path) or not self.contains(path) or path == self.root:
                continue
            if change == Change.deleted:
                self.tracker.discard(path)
                self.tracker.discard_under(path)
                if path in self.known:
                    self.known.discard(path)
                else:  # maybe a folder: forget what was below it
                    prefix = path + "/"
                    self.known = {known for known in self.known if not known.startswith(prefix)}
                continue
            rel = self.relative(path)
            if os.path.isdir(path):
                # A folder moved in arrives as one event; its files do not. Scan it.
                if change == Change.added and not self.filter.dir_ignored(rel):
                    self.hub.async_create_task(self._scan_folder(path))
                continue
            if self.filter.wanted(rel):
                self.known.add(path)
                self.tracker.touch(path)
        self.schedule_publish()

    async def _scan_folder(self, folder: str) -> None:
        for found in await asyncio.to_thread(scan, self.root, self.filter, folder):
            self.known.add(found.path)
            if not self.manager.store.is_handled(found.path, found.size, found.mtime_ns):
                self.tracker.touch(found.path)
        self.schedule_publish()

    async def _on_stable(self, files: list[StableFile]) -> None:
        await self.manager.emit(self, files)
        self.schedule_publish()

    async def rescan(self) -> dict[str, Any]:
        """Find files that appeared (or changed) while nobody was watching; they go through the same
        stability check as any other file."""
        if not await asyncio.to_thread(os.path.isdir, self.root):
            return {"files": 0, "queued": 0, "available": False}
        found = await asyncio.to_thread(scan, self.root, self.filter)
        queued = 0
        present = set()
        for item in found:
            present.add(item.path)
            if not self.manager.store.is_handled(item.path, item.size, item.mtime_ns):
                self.tracker.touch(item.path)
                queued += 1
        self.known = present
        await self.manager.store.forget_missing(self.name, self.root, present)
        self.schedule_publish()
        return {"files": len(found), "queued": queued, "available": True}

    # -- entities --------------------------------------------------------------------------------
    def entity_id(self, suffix: str) -> str:
        return f"sensor.drive_{self.name}_{suffix}"

    def schedule_publish(self) -> None:
        """Coalesce count updates: thousands of files at once make one state write, not thousands."""
        if self._publish_handle is None:
            self._publish_handle = self.hub.loop.call_later(0.5, self._publish_counts)

    def _publish_counts(self) -> None:
        self._publish_handle = None
        states = self.hub.states
        base = {"drive": self.name, "path": self.root}
        states.async_set(
            self.entity_id("files_watched"),
            len(self.known),
            {
                **base,
                "friendly_name": f"Drive {self.name} files watched",
                "unit_of_measurement": "files",
                "polling": self.watcher.polling,
                "mode": self.watcher.mode_reason,
            },
        )
        waiting = self.tracker.waiting()
        states.async_set(
            self.entity_id("waiting"),
            len(waiting),
            {
                **base,
                "friendly_name": f"Drive {self.name} files waiting",
                "unit_of_measurement": "files",
                "writing": sum(1 for w in waiting if w["reason"] == REASON_WRITING),
                "files": sorted(waiting, key=lambda w: w["since"])[:20],
                "open_file_check": "complete" if self.tracker.open_check_complete else "partial",
            },
        )

    async def async_update_stats(self) -> None:
        try:
            usage = await asyncio.to_thread(psutil.disk_usage, self.root)
        except OSError:
            for suffix in ("free", "total", "used_percent"):
                self.hub.states.async_set(
                    self.entity_id(suffix), "unavailable", {"drive": self.name, "path": self.root}
                )
            return
        common = {"drive": self.name, "path": self.root, "device_class": "data_size", "unit_of_measurement": "GiB"}
        self.hub.states.async_set(
            self.entity_id("free"),
            round(usage.free / GIB, 2),
            {**common, "bytes": usage.free, "friendly_name": f"Drive {self.name} free"},
        )
        self.hub.states.async_set(
            self.entity_id("total"),
            round(usage.total / GIB, 2),
            {**common, "bytes": usage.total, "friendly_name": f"Drive {self.name} total"},
        )
        self.hub.states.async_set(
            self.entity_id("used_percent"),
            round(usage.percent, 1),
            {
                "drive": self.name,
                "path": self.root,
                "unit_of_measurement": "%",
                "friendly_name": f"Drive {self.name} used",
            },
        )

    async def _stats_loop(self) -> None:
        while True:
            if self.ready.is_set() and not await asyncio.to_thread(os.path.isdir, self.root):
                self.watcher.stop()  # unmounted without an event (network share, USB drive)
            await self.async_update_stats()
            self._publish_counts()
            await asyncio.sleep(self.config.stats_interval)


class DriveManager:
    """All drives of this hub; `hub.data[DRIVES]`."""

    def __init__(self, hub: Hub, store: HandledStore, drives: list[DriveConfig]) -> None:
        self.hub = hub
        self.store = store
        self.drives: dict[str, Drive] = {config.name: Drive(hub, self, config) for config in drives}
        self.recording = False

    async def async_start(self) -> None:
        for drive in self.drives.values():
            self.hub.async_create_background_task(drive.run(), f"drives.{drive.name}")

    async def async_stop(self) -> None:
        for drive in self.drives.values():
            await drive.async_stop()

    async def async_wait_ready(self, timeout: float = 30.0) -> None:
        """Every available drive is watched and its start-up scan queued (tests, `rescan`)."""
        async with asyncio.timeout(timeout):
            for drive in self.drives.values():
                await drive.ready.wait()

    def drive_for(self, path: str) -> Drive | None:
        best: Drive | None = None
        for drive in self.drives.values():
            if drive.contains(path) and (best is None or len(drive.root) > len(best.root)):
                best = drive
        return best

    # -- reporting -------------------------------------------------------------------------------
    async def emit(self, drive: Drive, files: list[StableFile]) -> list[str]:
        """Persist, then fire `file_closed` for each file not reported before (by path+size+mtime)."""
        fresh = [f for f in files if not self.store.is_handled(f.path, f.size, f.mtime_ns)]
        if not fresh:
            return []
        # `mark` updates the in-memory map before its first await: a concurrent emit (notify_closed
        # racing the checker) sees the file as handled and cannot fire twice.
        await self.store.mark(drive.name, [(f.path, f.size, f.mtime_ns) for f in fresh])
        for item in fresh:
            self.hub.bus.async_fire(
                EVENT_FILE_CLOSED,
                {
                    "path": item.path,
                    "size": item.size,
                    "mtime": item.mtime_ns / 1e9,
                    "drive": drive.name,
                    "relative_path": drive.relative(item.path),
                    "name": os.path.basename(item.path),
                    "quiet_seconds": round(item.quiet_seconds, 3),
                    "closed_at": time.time(),
                },
            )
        return [f.path for f in fresh]

    async def notify_closed(self, path: str) -> bool:
        """OBS says it finished writing `path`: report it now, skipping the quiet window.

        Still refuses while any process has the file open for writing (the file then waits, marked
        as such, and is reported as soon as the writer closes it). Returns True when `file_closed`
        fired now. Paths outside every drive, ignored paths and already reported files return False.
        """
        resolved = await asyncio.to_thread(os.path.realpath, path)
        drive = self.drive_for(resolved)
        if drive is None or resolved == drive.root or drive.filter.ignored(drive.relative(resolved)):
            _LOGGER.info("notify_closed: %s is not inside a watched drive; ignored", path)
            return False
        try:
            st = await asyncio.to_thread(os.stat, resolved)
        except OSError:
            return False
        if self.store.is_handled(resolved, st.st_size, st.st_mtime_ns):
            drive.tracker.discard(resolved)
            return False
        if drive.config.check_open_files:
            check = await asyncio.to_thread(paths_open_for_writing, [resolved])
            if resolved in check.writing:
                drive.tracker.touch(resolved, forced=True)
                drive.schedule_publish()
                return False
        drive.tracker.discard(resolved)
        drive.known.add(resolved)
        fired = await self.emit(drive, [StableFile(resolved, st.st_size, st.st_mtime_ns, 0.0)])
        drive.schedule_publish()
        return bool(fired)

    def on_recording_changed(self, event: Event) -> None:
        new: State | None = event.data.get("new_state")
        old: State | None = event.data.get("old_state")
        recording = new is not None and new.state == "on"
        if recording and not (old is not None and old.state == "on"):
            for drive in self.drives.values():
                drive.tracker.restart_windows()
        self.recording = recording
