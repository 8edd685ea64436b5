"""File events for one drive: inotify (and friends) through watchfiles, or polling where events
never arrive.

Bind mounts from a Windows or macOS host into a container (9p, drvfs, grpcfuse, SMB, NFS) deliver
no inotify events: a native watcher there sees nothing and never complains. `poll: auto` therefore
*tests* the drive: known event-less filesystem types go straight to polling; otherwise a probe file
is written in the drive root and, if its event does not arrive within a few seconds, the drive is
polled. A drive we cannot write to cannot be tested, so it is polled (slower, never blind).

Everything runs on the event loop: watchfiles' `awatch` does its blocking wait on a worker thread
and hands batches back to the loop, so no callback ever crosses threads (the prototype's bug).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
from watchfiles import Change, awatch

from .config import POLL_OFF, POLL_ON

_LOGGER = logging.getLogger(__name__)

# Filesystems known not to deliver inotify events for changes made by the other side of the mount.
EVENTLESS_FS = frozenset(
    {
        "9p",
        "drvfs",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "nfs",
        "nfs4",
        "vboxsf",
        "prl_fs",
        "osxfs",
        "fakeowner",
        "fuse.grpcfuse",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "davfs",
        "fuse.davfs2",
    }
)

PROBE_PREFIX = ".streamops-probe-"
PROBE_TIMEOUT = 3.0

ChangeHandler = Callable[[set[tuple[Change, str]]], None]


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding `path` (longest matching mount point), or None."""
    try:
        target = str(path.resolve())
        best: tuple[int, str] | None = None
        for part in psutil.disk_partitions(all=True):
            mount = part.mountpoint.rstrip("/") or "/"
            if target == mount or target.startswith(mount.rstrip("/") + "/") or mount == "/":
                if best is None or len(mount) > best[0]:
                    best = (len(mount), part.fstype)
        return best[1] if best else None
    except Exception:
        return None


async def detect_events_work(root: Path, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Write a probe file in `root` and see whether a native watcher reports it; (works, why)."""
    fstype = filesystem_type(root)
    if fstype and fstype.lower() in EVENTLESS_FS:
        return False, f"filesystem {fstype} does not deliver file events"
    probe = root / f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    stop = asyncio.Event()
    seen = asyncio.Event()

    async def listen() -> None:
        async for changes in awatch(root, stop_event=stop, debounce=200, step=20, recursive=False, watch_filter=None):
            if any(Path(path).name == probe.name for _change, path in changes):
                seen.set()
                return

    task = asyncio.create_task(listen())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        written = False
        # The watcher needs a moment to arm; touch the probe a few times until it is seen.
        while loop.time() < deadline and not seen.is_set():
            try:
                await asyncio.to_thread(probe.write_bytes, uuid.uuid4().bytes)
                written = True
            except OSError as err:
                return False, f"cannot write a probe file to test file events ({err})"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.wait(), 0.25)
            if task.done():
                break
        if seen.is_set():
            return True, "file events arrive"
        return False, "no file event arrived for a probe file" if written else "probe not written"
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(OSError):
            probe.unlink()


class DriveWatcher:
    """Runs watchfiles on one drive root until stopped, calling `on_changes` with each batch."""

    def __init__(self, root: Path, poll: str, poll_interval: float, on_changes: ChangeHandler) -> None:
        self.root = root
        self.poll_setting = poll
        self.poll_interval = poll_interval
        self._on_changes = on_changes
        self.polling: bool | None = None
        self.mode_reason = ""
        self._stop = asyncio.Event()
        self.started = asyncio.Event()

    async def choose_mode(self) -> bool:
        if self.poll_setting == POLL_ON:
            self.polling, self.mode_reason = True, "poll: on"
        elif self.poll_setting == POLL_OFF:
            self.polling, self.mode_reason = False, "poll: off"
        else:
            works, why = await detect_events_work(self.root)
            self.polling, self.mode_reason = not works, f"poll: auto ({why})"
        _LOGGER.info("Drive %s: %s (%s)", self.root, "polling" if self.polling else "file events", self.mode_reason)
        return self.polling

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        if self.polling is None:
            await self.choose_mode()
        kwargs: dict[str, object] = {"force_polling": bool(self.polling)}
        if self.polling:
            kwargs["poll_delay_ms"] = int(self.poll_interval * 1000)
        self.started.set()
        async for changes in awatch(
            self.root,
            stop_event=self._stop,
            watch_filter=None,
            debounce=400,
            step=50,
            recursive=True,
            ignore_permission_denied=True,
            **kwargs,  # type: ignore[arg-type]
        ):
            try:
                self._on_changes(changes)
            except Exception:
                _LOGGER.exception("Handling file events under %s failed", self.root)


def is_probe(path: str) -> bool:
    return os.path.basename(path).startswith(PROBE_PREFIX)
