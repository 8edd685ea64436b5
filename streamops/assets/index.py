"""The asset index: what each media file is (ffprobe), what it hashes to (xxh64), how to find it
(FTS5), and which files are the same (dedupe, reported — never deleted).

Re-indexing is incremental: a file whose size and mtime match its row is skipped without being
read, so a rescan of thousands of unchanged files costs one `stat` each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core import Context, Hub, HubKey
from ..helpers.hashing import hash_file
from ..recorder.database import Database
from .probe import FFPROBE, MediaInfo, ProbeError, check_container, ffprobe_command, run_ffprobe
from .roots import drive_for_path
from .search import LIST_COLUMNS, MAX_COUNT, SearchQuery, build_search
from .sidecar import read_captions, read_sidecar

_LOGGER = logging.getLogger(__name__)

EVENT_ASSET_INDEXED = "asset_indexed"
# Above this many text matches, a page is found by walking the mtime index instead of sorting them all.
WALK_THRESHOLD = 2000
ASSETS: HubKey[AssetIndex] = HubKey("assets")
DERIVATIVE_KINDS = ("thumb", "sprite", "sprite_index", "hover", "waveform", "proxy")
MEDIA_EXTENSIONS = (
    ".mkv", ".mp4", ".mov", ".m4v", ".flv", ".ts", ".mts", ".m2ts", ".webm", ".avi", ".wmv", ".mpg", ".mpeg",
    ".mp3", ".wav", ".m4a", ".aac", ".flac", ".ogg", ".opus",
)  # fmt: skip


class AssetError(Exception):
    """A request the index refuses (outside the drives, missing file); the message says why."""


@dataclass
class IndexOptions:
    sha256: bool = False
    probe_timeout: float = 60.0
    concurrency: int = 4
    extensions: tuple[str, ...] = MEDIA_EXTENSIONS
    ffprobe: str = FFPROBE


def _row_dict(row: sqlite3.Row | None, full: bool = False) -> dict[str, Any] | None:
    if row is None:
        return None
    data = dict(row)
    if "tags" in data:
        data["tags"] = json.loads(data["tags"] or "[]")
    if full and data.get("streams"):
        data["streams"] = json.loads(data["streams"])
    return data


def _clean_tags(tags: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        text = str(tag).strip()
        if text and text not in out:
            out.append(text)
    return out


class AssetIndex:
    def __init__(self, hub: Hub, db: Database, options: IndexOptions) -> None:
        self.hub = hub
        self.db = db
        self.options = options
        self._limit = asyncio.Semaphore(options.concurrency)
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    # -- paths -----------------------------------------------------------------------------------
    def check_path(self, path: str | os.PathLike[str]) -> str:
        """The absolute, symlink-resolved path, or AssetError when it is outside every drive."""
        raw = os.fspath(path)
        if not raw or "\x00" in raw:
            raise AssetError("path is empty or contains a NUL byte")
        if not os.path.isabs(raw):
            raise AssetError(f"path must be absolute: {raw!r}")
        if not self.hub.config.is_allowed_path(raw):
            raise AssetError(f"path is outside the configured drives: {raw}")
        return os.path.realpath(raw)

    # -- lookups ---------------------------------------------------------------------------------
    async def get(self, path_or_id: str | int, full: bool = True) -> dict[str, Any] | None:
        """One asset by id or by path (as given or symlink-resolved); None when not indexed."""
        columns = "*" if full else LIST_COLUMNS.replace("a.", "")
        if isinstance(path_or_id, int) or (isinstance(path_or_id, str) and path_or_id.isdigit()):
            row = await self.db.fetchone(f"SELECT {columns} FROM so_assets WHERE id = ?", (int(path_or_id),))
        else:
            path = os.fspath(path_or_id)
            row = await self.db.fetchone(f"SELECT {columns} FROM so_assets WHERE path = ?", (path,))
            if row is None:
                resolved = await asyncio.to_thread(os.path.realpath, path)
                row = await self.db.fetchone(f"SELECT {columns} FROM so_assets WHERE path = ?", (resolved,))
        return _row_dict(row, full)

    async def detail(self, asset_id: int) -> dict[str, Any] | None:
        asset = await self.get(asset_id)
        if asset is None:
            return None
        asset["derivatives"] = [
            dict(row)
            for row in await self.db.fetchall(
                "SELECT kind, path, created FROM so_thumbs WHERE asset_id = ? ORDER BY kind", (asset_id,)
            )
        ]
        asset["duplicates"] = await self.duplicates_of(asset)
        return asset

    async def duplicates_of(self, asset: dict[str, Any]) -> list[dict[str, Any]]:
        if not asset.get("xxh64") or not asset.get("size"):
            return []
        rows = await self.db.fetchall(
            "SELECT id, path FROM so_assets WHERE xxh64 = ? AND size = ? AND id != ? ORDER BY id",
            (asset["xxh64"], asset["size"], asset["id"]),
        )
        return [dict(row) for row in rows]

    async def search(self, args: dict[str, Any]) -> dict[str, Any]:
        """One page of matches plus the total (exact, or `MAX_COUNT` with `total_capped` when larger).

        The plan depends on how many rows the words match (counted on the FTS indexes alone, which
        is cheap): few matches are looked up by id and sorted; many are found by walking the mtime
        index and keeping the first `limit` that match, so neither a rare nor a common 3-letter
        prefix makes SQLite touch thousands of rows.
        """
        query: SearchQuery = build_search(args)
        text_matches: int | None = None
        if query.text_sets:
            count = await self.db.fetchone(
                f"SELECT COUNT(*) AS n FROM ({query.text_sets})", query.params[: query.text_params]
            )
            text_matches = int(count["n"]) if count else 0
            if text_matches == 0:
                return {"total": 0, "total_capped": False, "limit": query.limit, "offset": query.offset, "items": []}
        walk = text_matches is not None and text_matches > WALK_THRESHOLD
        rows = await self.db.fetchall(
            f"SELECT {LIST_COLUMNS} FROM so_assets a WHERE {query.page_where if walk else query.where}"
            f" ORDER BY {query.order} LIMIT ? OFFSET ?",
            (*query.params, query.limit, query.offset),
        )
        capped = False
        if query.offset == 0 and len(rows) < query.limit:
            total = len(rows)
        elif query.text_only and text_matches is not None:
            total = text_matches
        else:
            count = await self.db.fetchone(
                f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM so_assets a WHERE {query.where} LIMIT {MAX_COUNT + 1})",
                query.params,
            )
            total = int(count["n"]) if count else 0
            capped = total > MAX_COUNT
            total = min(total, MAX_COUNT)
        return {
            "total": total,
            "total_capped": capped,
            "limit": query.limit,
            "offset": query.offset,
            "items": [_row_dict(row) for row in rows],
        }

    async def duplicates(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Groups of assets with the same content (xxh64 and size; SHA-256 too where both have one)."""
        groups = await self.db.fetchall(
            "SELECT xxh64, size, COUNT(*) AS count FROM so_assets WHERE xxh64 IS NOT NULL AND size > 0"
            " GROUP BY xxh64, size HAVING COUNT(*) > 1 ORDER BY size * (COUNT(*) - 1) DESC, xxh64 LIMIT ? OFFSET ?",
            (limit, offset),
        )
        out = []
        for group in groups:
            members = await self.db.fetchall(
                "SELECT id, path, drive, mtime, sha256, status FROM so_assets WHERE xxh64 = ? AND size = ? ORDER BY id",
                (group["xxh64"], group["size"]),
            )
            shas = {row["sha256"] for row in members if row["sha256"]}
            out.append(
                {
                    "xxh64": group["xxh64"],
                    "size": group["size"],
                    "count": group["count"],
                    "wasted_bytes": group["size"] * (group["count"] - 1),
                    "sha256_verified": len(shas) == 1 and all(row["sha256"] for row in members),
                    "sha256_conflict": len(shas) > 1,
                    "assets": [dict(row) for row in members],
                }
            )
        return {"groups": out, "limit": limit, "offset": offset}

    # -- indexing --------------------------------------------------------------------------------
    def plan(self, path: str) -> dict[str, Any]:
        """What `index` would do, without doing it (dry run)."""
        resolved = self.check_path(path)
        if os.path.isdir(resolved):
            files = [p for p in self._walk(resolved)]
            return {"dry_run": True, "path": resolved, "files": len(files), "sample": files[:20]}
        return {"dry_run": True, "path": resolved, "command": ffprobe_command(resolved, self.options.ffprobe)}

    def _walk(self, folder: str) -> Iterable[str]:
        extensions = tuple(ext.lower() for ext in self.options.extensions)
        for current, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if not name.startswith(".") and name.lower().endswith(extensions):
                    yield os.path.join(current, name)

    async def index(
        self,
        path: str,
        *,
        force: bool = False,
        sha256: bool | None = None,
        tags: Iterable[str] = (),
        context: Context | None = None,
    ) -> dict[str, Any]:
        """Index one file (or every media file under a folder); a file returns its asset row."""
        resolved = self.check_path(path)
        try:
            st = await asyncio.to_thread(os.stat, resolved)
        except FileNotFoundError as err:
            raise AssetError(f"no such file: {path}") from err
        except OSError as err:
            raise AssetError(f"cannot read {path}: {err.strerror}") from err
        if stat.S_ISDIR(st.st_mode):
            return await self.index_tree(resolved, force=force, sha256=sha256, context=context)
        return await self._index_file(resolved, st, force=force, sha256=sha256, tags=tags, context=context)

    async def index_tree(
        self, folder: str, *, force: bool = False, sha256: bool | None = None, context: Context | None = None
    ) -> dict[str, Any]:
        """Index every media file below `folder`; unchanged ones (same size and mtime) are skipped."""
        started = time.monotonic()
        files = await asyncio.to_thread(lambda: list(self._walk(folder)))
        prefix = folder.rstrip("/") + "/"
        known = {
            row["path"]: (row["size"], row["mtime_ns"])
            for row in await self.db.fetchall(
                "SELECT path, size, mtime_ns FROM so_assets WHERE path >= ? AND path < ?", (prefix, prefix[:-1] + "0")
            )
        }
        summary = {"path": folder, "files": len(files), "indexed": 0, "skipped": 0, "errors": 0, "failed": []}
        queue: asyncio.Queue[str] = asyncio.Queue()
        for item in files:
            queue.put_nowait(item)

        async def worker() -> None:
            while True:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    st = await asyncio.to_thread(os.stat, item)
                except OSError:
                    continue
                if not force and known.get(item) == (st.st_size, st.st_mtime_ns):
                    summary["skipped"] += 1
                    continue
                try:
                    row = await self._index_file(item, st, force=True, sha256=sha256, context=context)
                except Exception as err:  # one bad file never stops a tree
                    _LOGGER.exception("Indexing %s failed", item)
                    summary["failed"].append({"path": item, "error": str(err)})
                    continue
                summary["indexed"] += 1
                if row.get("status") == "error":
                    summary["errors"] += 1

        await asyncio.gather(*(worker() for _ in range(max(1, self.options.concurrency))))
        summary["seconds"] = round(time.monotonic() - started, 3)
        return summary

    async def _index_file(
        self,
        path: str,
        st: os.stat_result,
        *,
        force: bool,
        sha256: bool | None,
        tags: Iterable[str] = (),
        context: Context | None = None,
    ) -> dict[str, Any]:
        # One indexing of a path at a time (a file_closed and a service call racing); the lock is
        # dropped with its last user so the map does not grow with every file ever indexed.
        entry = self._locks.setdefault(path, (asyncio.Lock(), [0]))
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                return await self._index_locked(path, st, force=force, sha256=sha256, tags=tags, context=context)
        finally:
            users[0] -= 1
            if users[0] == 0 and self._locks.get(path) is entry:
                del self._locks[path]

    async def _index_locked(
        self,
        path: str,
        st: os.stat_result,
        *,
        force: bool,
        sha256: bool | None,
        tags: Iterable[str],
        context: Context | None,
    ) -> dict[str, Any]:
        existing = await self.db.fetchone("SELECT * FROM so_assets WHERE path = ?", (path,))
        extra_tags = _clean_tags(tags)
        want_sha = self.options.sha256 if sha256 is None else sha256
        if (
            existing is not None
            and not force
            and (existing["size"], existing["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
            and (not want_sha or existing["sha256"])
            and not extra_tags
        ):
            row = _row_dict(existing, True) or {}
            row["skipped"] = True
            return row

        async with self._limit:
            info, error, digests, side = await self._examine(path, st.st_size, want_sha)
        xxh64, sha = digests
        sidecar_text, sidecar_tags, captions = side
        old_tags = json.loads(existing["tags"]) if existing is not None else []
        all_tags = _clean_tags([*old_tags, *sidecar_tags, *extra_tags])
        now = time.time()
        values = {
            "path": path,
            "name": os.path.basename(path),
            "folder": os.path.dirname(path),
            "ext": os.path.splitext(path)[1].lower().lstrip("."),
            "drive": drive_for_path(self.hub, path),
            "size": st.st_size,
            "mtime": st.st_mtime,
            "mtime_ns": st.st_mtime_ns,
            "status": "error" if error else "ok",
            "error": error,
            "duration": info.duration if info else None,
            "container": info.container if info else None,
            "video_codec": info.video_codec if info else None,
            "audio_codec": info.audio_codec if info else None,
            "width": info.width if info else None,
            "height": info.height if info else None,
            "fps": info.fps if info else None,
            "bit_rate": info.bit_rate if info else None,
            "stream_count": len(info.streams) if info else 0,
            "streams": json.dumps(info.streams) if info else "[]",
            "xxh64": xxh64,
            "sha256": sha or (existing["sha256"] if existing is not None and xxh64 == existing["xxh64"] else None),
            "tags": json.dumps(all_tags),
            "sidecar": sidecar_text,
            "captions": captions or (existing["captions"] if existing is not None else ""),
            "created": existing["created"] if existing is not None else now,
            "indexed_at": now,
        }
        columns = ", ".join(values)
        placeholders = ", ".join(f":{key}" for key in values)
        updates = ", ".join(f"{key} = excluded.{key}" for key in values if key not in ("path", "created"))
        await self.db.execute(
            f"INSERT INTO so_assets ({columns}) VALUES ({placeholders}) ON CONFLICT (path) DO UPDATE SET {updates}",
            values,
        )
        row = await self.get(path)
        assert row is not None
        duplicates = await self.duplicates_of(row)
        row["duplicates"] = duplicates
        self.hub.bus.async_fire(
            EVENT_ASSET_INDEXED,
            {
                "id": row["id"],
                "path": path,
                "drive": row["drive"],
                "status": row["status"],
                "error": row["error"],
                "duration": row["duration"],
                "xxh64": row["xxh64"],
                "duplicates": [item["id"] for item in duplicates],
            },
            context=context,
        )
        return row

    async def _examine(
        self, path: str, size: int, want_sha: bool
    ) -> tuple[MediaInfo | None, str | None, tuple[str | None, str | None], tuple[str, list[str], str]]:
        """Hash, probe and read sidecars concurrently; bad media becomes an error message, not an exception."""

        def side() -> tuple[str, list[str], str]:
            text, tags = read_sidecar(path)
            return text, tags, read_captions(path)

        hashing = asyncio.to_thread(hash_file, path, want_sha)
        sidecars = asyncio.to_thread(side)
        info: MediaInfo | None = None
        error: str | None = None
        if size == 0:
            error = "empty file (0 bytes)"
            digests, side_data = await asyncio.gather(hashing, sidecars)
            return None, error, digests, side_data
        probing = run_ffprobe(path, self.options.probe_timeout, self.options.ffprobe)
        results = await asyncio.gather(hashing, probing, sidecars, return_exceptions=True)
        digests_or_err, info_or_err, side_or_err = results
        if isinstance(digests_or_err, BaseException):
            if isinstance(digests_or_err, OSError):
                raise AssetError(f"cannot read {path}: {digests_or_err}") from digests_or_err
            raise digests_or_err
        if isinstance(info_or_err, ProbeError):
            error = str(info_or_err)
        elif isinstance(info_or_err, BaseException):
            raise info_or_err
        else:
            info = info_or_err
            truncated = await asyncio.to_thread(check_container, path, size)
            if truncated:
                error = truncated
        side_data = side_or_err if not isinstance(side_or_err, BaseException) else ("", [], "")
        return info, error, digests_or_err, side_data

    # -- edits -----------------------------------------------------------------------------------
    async def set_tags(
        self,
        path_or_id: str | int,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        replace: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        asset = await self.get(path_or_id)
        if asset is None:
            raise AssetError(f"not in the asset index: {path_or_id} (index it first with assets.index)")
        tags = _clean_tags(replace) if replace is not None else list(asset["tags"])
        removing = set(_clean_tags(remove))
        tags = _clean_tags([*(t for t in tags if t not in removing), *_clean_tags(add)])
        await self.db.execute("UPDATE so_assets SET tags = ? WHERE id = ?", (json.dumps(tags), asset["id"]))
        return await self.get(asset["id"]) or {}

    async def record_derivative(self, path_or_id: str | int, kind: str, path: str | os.PathLike[str]) -> dict[str, Any]:
        if kind not in DERIVATIVE_KINDS:
            raise AssetError(f"unknown derivative kind {kind!r} (expected one of {', '.join(DERIVATIVE_KINDS)})")
        asset = await self.get(path_or_id, full=False)
        if asset is None:
            if isinstance(path_or_id, int) or str(path_or_id).isdigit():
                raise AssetError(f"no asset with id {path_or_id}")
            asset = await self.index(str(path_or_id))
        now = time.time()
        await self.db.execute(
            "INSERT INTO so_thumbs (asset_id, kind, path, created) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (asset_id, kind) DO UPDATE SET path = excluded.path, created = excluded.created",
            (asset["id"], kind, os.fspath(path), now),
        )
        return {"asset_id": asset["id"], "kind": kind, "path": os.fspath(path), "created": now}

    async def moved(self, old_path: str, new_path: str) -> dict[str, Any] | None:
        """A file was moved (same content): keep its row, hashes, tags and derivatives under the new path."""
        new_resolved = self.check_path(new_path)
        asset = await self.get(old_path, full=False)
        if asset is None:
            return None
        st = await asyncio.to_thread(os.stat, new_resolved)
        await self.db.execute(
            "UPDATE so_assets SET path = ?, name = ?, folder = ?, ext = ?, drive = ?, mtime = ?, mtime_ns = ?"
            " WHERE id = ?",
            (
                new_resolved,
                os.path.basename(new_resolved),
                os.path.dirname(new_resolved),
                os.path.splitext(new_resolved)[1].lower().lstrip("."),
                drive_for_path(self.hub, new_resolved),
                st.st_mtime,
                st.st_mtime_ns,
                asset["id"],
            ),
        )
        return await self.get(asset["id"])
