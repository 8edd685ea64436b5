"""Moving and copying recordings so that a crash at any instant loses nothing and copies nothing twice.

Same filesystem: a hard link to the final name, then unlink of the source (a rename that cannot
overwrite). Across filesystems: copy to a temporary beside the destination while hashing (xxh64)
→ fsync → re-read and verify size + hash → atomic rename → only then delete the source. A small
journal file beside the destination (`.<name>.streamops-move.json`) records the chosen final name
and the source's size and hash, so after a kill -9 the job can tell "partial copy" (removed and
redone) from "copied, source not yet deleted" (the source is deleted once the destination verifies).
"""

# ruff: noqa: ASYNC240 - stat()/exists() on local paths are microseconds; data moves on a worker thread

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

from ..helpers.hashing import HashCanceled
from ..helpers.hashing import hash_file as shared_hash_file
from ..jobs.model import JobError
from ..media.outputs import check_free_space, commit, fsync_path, remove_quietly, temp_path_for

CHUNK = 8 << 20
JOURNAL_MARK = ".streamops-move.json"


class Canceled(Exception):
    pass


def journal_path(dest_dir: Path, name: str) -> Path:
    return dest_dir / f".{name}{JOURNAL_MARK}"


def read_journal(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_journal(path: Path, data: dict[str, Any]) -> None:
    temp = path.with_name(path.name + ".tmp")
    remove_quietly(temp)  # exclusive create below: a symlink planted at this name is never followed
    with open(temp, "x", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_path(path.parent, directory=True)


def hash_file(path: Path, on_bytes: Callable[[int], None] | None = None, stop: threading.Event | None = None) -> str:
    try:
        return shared_hash_file(path, on_bytes=on_bytes, stop=stop)[0]
    except HashCanceled:
        raise Canceled() from None


def copy_hashing(
    source: Path, temp: Path, on_bytes: Callable[[int], None], stop: threading.Event, paused: Callable[[], bool]
) -> str:
    """Copy while hashing what was read; fsync before returning. Blocks while paused."""
    digest = xxhash.xxh64()
    # "xb": the caller removed any stale temporary; a link appearing at its name is an error, not a target.
    with open(source, "rb", buffering=0) as src, open(temp, "xb", buffering=0) as dst:
        while True:
            while paused() and not stop.is_set():
                time.sleep(0.05)
            if stop.is_set():
                raise Canceled()
            chunk = src.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            view = memoryview(chunk)
            while view:
                written = dst.write(view)
                view = view[written:]
            on_bytes(len(chunk))
        os.fsync(dst.fileno())
    return digest.hexdigest()


def candidates(dest_dir: Path, name: str) -> Any:
    """`name`, then `stem (1).ext`, `stem (2).ext`, ..."""
    yield dest_dir / name
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 10_000):
        yield dest_dir / f"{stem} ({n}){suffix}"


class Transfer:
    """One move or copy job attempt."""

    def __init__(self, ctx: Any, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.params = params
        self.source = Path(params["source"])
        self.dest_dir = Path(params["dest_dir"])
        self.name = params["name"]
        self.mode = params.get("mode", "move")
        self.collision = params.get("collision", "suffix")
        self.journal = journal_path(self.dest_dir, self.name)
        self.stop = threading.Event()
        self._done_bytes = 0
        self._total = 1
        self._started = time.monotonic()

    # -- helpers running on a worker thread ---------------------------------------------------------
    async def _thread(self, func: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, func, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self.stop.set()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await future
            raise

    def _on_bytes(self, count: int) -> None:
        self._done_bytes += count
        loop = self._loop
        loop.call_soon_threadsafe(self._report)

    def _report(self) -> None:
        elapsed = max(1e-6, time.monotonic() - self._started)
        speed = self._done_bytes / elapsed
        percent = 100.0 * self._done_bytes / max(1, self._total)
        eta = (self._total - self._done_bytes) / speed if speed > 0 else None
        self.ctx.progress(
            percent,
            speed=round(speed / (1 << 20), 1),
            eta=eta,
            message=f"{self.mode} {self.source.name}: {self._done_bytes >> 20} MiB",
        )

    async def _identical(self, a: Path, b: Path) -> bool:
        try:
            if a.stat().st_size != b.stat().st_size:
                return False
            if os.path.samefile(a, b):
                return True
        except OSError:
            return False
        return await self._thread(hash_file, a, None, self.stop) == await self._thread(hash_file, b, None, self.stop)

    # -- the job -----------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        self._loop = asyncio.get_running_loop()
        journal = read_journal(self.journal)
        if not self.source.exists():
            if journal and journal.get("final") and Path(journal["final"]).exists():
                final = Path(journal["final"])
                if final.stat().st_size == journal.get("size"):
                    remove_quietly(self.journal)
                    return self._result(final, resumed=True)
            raise JobError(f"source {self.source} does not exist", retry=False)
        self.dest_dir.mkdir(parents=True, exist_ok=True)
        size = self.source.stat().st_size
        self._total = size * (2 if self._cross_device() or self.mode == "copy" else 1)
        final = None
        for candidate in candidates(self.dest_dir, self.name):
            if not candidate.exists() and not candidate.is_symlink():
                final = candidate
                break
            if await self._identical(self.source, candidate):
                # Already there (an earlier attempt, or the same file copied by hand).
                return await self._finish_existing(candidate)
            if self.collision == "skip":
                return {**self._result(candidate), "skipped": True, "reason": f"{candidate} exists and differs"}
            if self.collision == "overwrite":
                raise JobError(
                    f"{candidate} exists and differs from {self.source}; overwriting is only allowed when they are "
                    "identical (size and xxh64)",
                    retry=False,
                )
        assert final is not None
        if self.mode == "copy" or self._cross_device():
            check_free_space(self.dest_dir, size, "copy")
        write_journal(
            self.journal,
            {"source": str(self.source), "final": str(final), "size": size, "mode": self.mode, "phase": "started"},
        )
        if self.mode == "move" and not self._cross_device():
            self._link_move(final)
            remove_quietly(self.journal)
            return self._result(final, method="rename")
        temp = temp_path_for(final)
        remove_quietly(temp)
        try:
            digest = await self._thread(
                copy_hashing, self.source, temp, self._on_bytes, self.stop, lambda: bool(self.ctx.paused)
            )
            if temp.stat().st_size != size:
                raise JobError(f"copy of {self.source} to {temp} is {temp.stat().st_size} bytes, expected {size}")
            check = await self._thread(hash_file, temp, self._on_bytes, self.stop)
            if check != digest:
                raise JobError(f"copy of {self.source} failed verification (xxh64 {check} != {digest})")
            write_journal(
                self.journal,
                {
                    "source": str(self.source),
                    "final": str(final),
                    "size": size,
                    "xxh64": digest,
                    "mode": self.mode,
                    "phase": "verified",
                },
            )
            commit(temp, final)
        except OSError as err:
            remove_quietly(temp)
            raise JobError(f"{self.mode} of {self.source} to {final} failed: {err.strerror or err}") from err
        except BaseException:
            remove_quietly(temp)
            raise
        if self.mode == "move":
            os.unlink(self.source)
            fsync_path(self.source.parent, directory=True)
        remove_quietly(self.journal)
        return self._result(final, method="copy+verify", xxh64=digest)

    def _cross_device(self) -> bool:
        return self.source.stat().st_dev != self.dest_dir.stat().st_dev

    def _link_move(self, final: Path) -> None:
        try:
            os.link(self.source, final)
        except FileExistsError:
            raise JobError(f"{final} appeared while moving; not overwriting it", retry=False) from None
        except OSError:
            if final.exists():
                raise JobError(f"{final} appeared while moving; not overwriting it", retry=False) from None
            os.rename(self.source, final)
            fsync_path(final.parent, directory=True)
            return
        os.unlink(self.source)
        fsync_path(final.parent, directory=True)
        fsync_path(self.source.parent, directory=True)

    async def _finish_existing(self, final: Path) -> dict[str, Any]:
        if self.mode == "move" and self.source.exists() and not os.path.samefile(self.source, final):
            os.unlink(self.source)  # only reached after size + xxh64 matched
            fsync_path(self.source.parent, directory=True)
        elif self.mode == "move" and self.source.exists():
            os.unlink(self.source)  # a hard link from an interrupted same-drive move
        remove_quietly(self.journal)
        return self._result(final, resumed=True)

    def _result(self, final: Path, **extra: Any) -> dict[str, Any]:
        return {
            "job_id": getattr(self.ctx, "job_id", None),
            "source": str(self.source),
            "output": str(final),
            "mode": self.mode,
            **extra,
        }


async def transfer_already_done(params: dict[str, Any]) -> dict[str, Any] | None:
    """After a restart: done when the source is gone and the journaled destination holds its size."""
    source = Path(params["source"])
    journal = journal_path(Path(params["dest_dir"]), params["name"])
    data = read_journal(journal)
    if params.get("mode", "move") == "copy" or source.exists() or not data:
        return None
    final = Path(data.get("final", ""))
    if final.exists() and final.stat().st_size == data.get("size"):
        remove_quietly(journal)
        return {"source": str(source), "output": str(final), "mode": "move", "resumed": True}
    return None


async def transfer_cleanup(params: dict[str, Any]) -> None:
    """Remove a partial copy; the journal stays only once a verified copy exists (it then tells the
    next attempt which final name holds the data, so the source is deleted and nothing is copied twice)."""
    journal = journal_path(Path(params["dest_dir"]), params["name"])
    data = read_journal(journal)
    if data and data.get("final"):
        remove_quietly(temp_path_for(data["final"]))
    if data is None or data.get("phase") != "verified":
        remove_quietly(journal)
