"""Stability detection: a file is finished when it has stopped changing AND nobody writes to it.

A fixed hold timer is not stability detection (Tdarr queued an 80 GB file mid-copy), and giving up
after a timeout and queueing anyway is worse (Unmanic). Here a candidate is released only when its
size and mtime have been unchanged, as observed by our own `stat`s, for the whole quiet window, and
no process has it open for writing. A file that never satisfies this stays "waiting" forever and
is re-checked; it is never released by a timeout.

The tracker is pure bookkeeping plus one checker task; the watcher feeds it paths (`touch`), and
it hands finished files to `on_stable` in batches (thousands of files at once cost one /proc scan
and one database transaction per round, not one per file).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .openfiles import OpenCheck, paths_open_for_writing

_LOGGER = logging.getLogger(__name__)

REASON_QUIET = "quiet_window"
REASON_WRITING = "open_for_writing"


@dataclass(slots=True)
class Candidate:
    path: str
    size: int = -1
    mtime_ns: int = -1
    changed_at: float = 0.0  # monotonic time of the last observed change
    first_seen: float = 0.0  # wall clock, for the "waiting since" display
    reason: str = REASON_QUIET
    forced: bool = False  # OBS said the recording stopped: skip the quiet window
    next_open_check: float = 0.0


@dataclass(frozen=True, slots=True)
class StableFile:
    path: str
    size: int
    mtime_ns: int
    quiet_seconds: float


StableCallback = Callable[[list[StableFile]], Awaitable[None]]


def _stat_all(paths: list[str]) -> dict[str, tuple[int, int] | None]:
    """Blocking batch stat (run on a worker thread): None for files that are gone or not regular."""
    out: dict[str, tuple[int, int] | None] = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out[path] = None
            continue
        out[path] = (st.st_size, st.st_mtime_ns) if (st.st_mode & 0o170000) == 0o100000 else None
    return out


class StabilityTracker:
    def __init__(
        self,
        quiet_seconds: float,
        on_stable: StableCallback,
        *,
        check_open_files: bool = True,
        open_check: Callable[[list[str]], OpenCheck] = paths_open_for_writing,
    ) -> None:
        self.quiet = quiet_seconds
        self._on_stable = on_stable
        self._check_open = check_open_files
        self._open_check = open_check
        self.candidates: dict[str, Candidate] = {}
        # Re-stat often enough that a write is seen well inside the window.
        self.interval = min(max(quiet_seconds / 5, 0.05), 1.0)
        self._wake = asyncio.Event()
        self.open_check_complete = True

    # -- fed by the watcher ----------------------------------------------------------------------
    def touch(self, path: str, *, forced: bool = False) -> None:
        """A file appeared or changed: (re)start watching it. Cheap; the stat happens in the loop."""
        candidate = self.candidates.get(path)
        if candidate is None:
            self.candidates[path] = Candidate(path, first_seen=time.time(), changed_at=time.monotonic(), forced=forced)
            self._wake.set()
        elif forced:
            candidate.forced = True
            self._wake.set()

    def discard(self, path: str) -> None:
        self.candidates.pop(path, None)

    def discard_under(self, folder: str) -> None:
        prefix = folder.rstrip("/") + "/"
        for path in [p for p in self.candidates if p.startswith(prefix)]:
            del self.candidates[path]

    def restart_windows(self) -> None:
        """OBS started recording again: every waiting file must be quiet for a full window from now."""
        now = time.monotonic()
        for candidate in self.candidates.values():
            candidate.changed_at = now
            candidate.forced = False

    def waiting(self) -> list[dict[str, object]]:
        return [
            {"path": c.path, "since": c.first_seen, "reason": c.reason, "size": max(c.size, 0)}
            for c in self.candidates.values()
        ]

    # -- the checker -----------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            if not self.candidates:
                self._wake.clear()
                await self._wake.wait()
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Stability check failed; retrying")
            await asyncio.sleep(self.interval)

    async def check_once(self) -> None:
        paths = list(self.candidates)
        if not paths:
            return
        stats = await asyncio.to_thread(_stat_all, paths) if len(paths) > 64 else _stat_all(paths)
        now = time.monotonic()
        due: list[Candidate] = []
        for path, observed in stats.items():
            candidate = self.candidates.get(path)
            if candidate is None:
                continue  # discarded meanwhile
            if observed is None:
                del self.candidates[path]  # deleted while growing, or not a regular file
                continue
            size, mtime_ns = observed
            if (size, mtime_ns) != (candidate.size, candidate.mtime_ns):
                if candidate.size != -1:
                    candidate.changed_at = now
                    candidate.forced = False
                candidate.size, candidate.mtime_ns = size, mtime_ns
                candidate.reason = REASON_QUIET
                if not candidate.forced:
                    continue
            if candidate.forced or now - candidate.changed_at >= self.quiet:
                if candidate.next_open_check <= now:
                    due.append(candidate)
        if not due:
            return
        writing: set[str] = set()
        if self._check_open:
            result = await asyncio.to_thread(self._open_check, [c.path for c in due])
            writing = result.writing
            self.open_check_complete = result.complete
        ready: list[StableFile] = []
        for candidate in due:
            if candidate.path in writing:
                candidate.reason = REASON_WRITING
                # A writer holding the file open is re-checked at most every second or so.
                candidate.next_open_check = now + max(self.interval, min(self.quiet / 2, 2.0))
                continue
            if self.candidates.get(candidate.path) is not candidate:
                continue
            del self.candidates[candidate.path]
            ready.append(StableFile(candidate.path, candidate.size, candidate.mtime_ns, now - candidate.changed_at))
        if ready:
            try:
                await self._on_stable(ready)
            except BaseException:
                # Not reported (database busy, shutting down): watch them again rather than lose them.
                for item in ready:
                    self.candidates.setdefault(
                        item.path, Candidate(item.path, item.size, item.mtime_ns, time.monotonic(), time.time())
                    )
                raise
