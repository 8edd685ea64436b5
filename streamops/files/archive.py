"""`files.archive`: a file or folder into a zip or tar, written to a temporary and verified first."""

# ruff: noqa: ASYNC240 - stat()/exists() on local paths are microseconds; data moves on a worker thread

from __future__ import annotations

import asyncio
import contextlib
import os
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from ..jobs.model import JobError
from ..media.outputs import check_free_space, commit, remove_quietly, temp_path_for

FORMATS = ("zip", "tar", "tar.gz")


def archive_suffix(fmt: str) -> str:
    return {"zip": ".zip", "tar": ".tar", "tar.gz": ".tar.gz"}[fmt]


def members(source: Path) -> list[tuple[Path, str]]:
    """(file, name inside the archive); folders keep their own name as the top level."""
    if source.is_file():
        return [(source, source.name)]
    found = []
    for root, dirs, files in os.walk(source):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if ".streamops-tmp" in name:
                continue
            if path.is_symlink():
                # zipfile would store the link's target: a link to ~/.ssh/id_rsa planted in a drive
                # folder must not copy that file into an archive (tar stores links, which then fail
                # verification anyway). Only the folder's own files are archived.
                continue
            found.append((path, str(Path(source.name) / path.relative_to(source))))
    return found


def _write(fmt: str, compression: str, items: list[tuple[Path, str]], temp: Path, stop: threading.Event) -> None:
    if fmt == "zip":
        method = zipfile.ZIP_DEFLATED if compression == "deflated" else zipfile.ZIP_STORED
        with zipfile.ZipFile(temp, "w", compression=method, allowZip64=True) as archive:
            for path, name in items:
                if stop.is_set():
                    raise asyncio.CancelledError()
                archive.write(path, name)
    else:
        mode = "w:gz" if fmt == "tar.gz" else "w"
        with tarfile.open(temp, mode) as archive:  # type: ignore[call-overload]
            for path, name in items:
                if stop.is_set():
                    raise asyncio.CancelledError()
                archive.add(path, name, recursive=False)
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())


def verify_archive(fmt: str, path: Path, expected: list[tuple[Path, str]]) -> None:
    names = {name for _, name in expected}
    try:
        if fmt == "zip":
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
                if bad is not None:
                    raise JobError(f"archive {path} failed verification: {bad} is corrupt")
                found = {info.filename: info.file_size for info in archive.infolist()}
        else:
            with tarfile.open(path) as archive:
                found = {m.name: m.size for m in archive.getmembers() if m.isfile()}
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as err:
        raise JobError(f"archive {path} failed verification: {err}") from err
    sizes = {name: p.stat().st_size for p, name in expected}
    if set(found) != names or any(found[n] != sizes[n] for n in names):
        raise JobError(f"archive {path} failed verification: contents differ from {len(names)} source file(s)")


async def run_archive(ctx: Any) -> dict[str, Any]:
    params = ctx.params
    source, output, fmt = Path(params["source"]), Path(params["output"]), params["format"]
    if not source.exists():
        raise JobError(f"source {source} does not exist", retry=False)
    items = await asyncio.to_thread(members, source)
    total = sum(p.stat().st_size for p, _ in items)
    output.parent.mkdir(parents=True, exist_ok=True)
    check_free_space(output.parent, total, "archive")
    temp = temp_path_for(output)
    remove_quietly(temp)  # a stale temporary, or a symlink planted at its name, is never written through
    stop = threading.Event()
    ctx.progress(None, message=f"archiving {len(items)} file(s)")
    future = asyncio.get_running_loop().run_in_executor(None, _write, fmt, params["compression"], items, temp, stop)
    try:
        await asyncio.shield(future)
        await asyncio.to_thread(verify_archive, fmt, temp, items)
        if output.exists() and not params.get("overwrite"):
            raise JobError(f"{output} already exists; not overwriting it", retry=False)
        commit(temp, output, overwrite=bool(params.get("overwrite")))
    except BaseException:
        stop.set()
        with contextlib.suppress(BaseException):
            await future
        remove_quietly(temp)
        raise
    return {
        "job_id": ctx.job_id,
        "source": str(source),
        "output": str(output),
        "files": len(items),
        "bytes": total,
        "size": output.stat().st_size,
        "format": fmt,
    }


async def archive_already_done(params: dict[str, Any]) -> dict[str, Any] | None:
    source, output = Path(params["source"]), Path(params["output"])
    if not output.exists() or not source.exists():
        return None
    items = await asyncio.to_thread(members, source)
    try:
        await asyncio.to_thread(verify_archive, params["format"], output, items)
    except JobError:
        return None
    return {"source": str(source), "output": str(output), "files": len(items), "reused": True}


async def archive_cleanup(params: dict[str, Any]) -> None:
    remove_quietly(temp_path_for(params["output"]))
