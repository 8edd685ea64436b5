"""Serving an asset's bytes to the browser: the file itself and its derivatives, with HTTP Range.

The dashboard's `<video>`, `<img>` and sprite backgrounds load these URLs directly, so they live
under `/api/` where the http component's middleware already demands the token (a Bearer header,
or the HttpOnly session cookie the login link set — which is what a `<video src>` sends). Nothing
here takes a path from the request: an asset is named by its id, and the file it resolves to is
served only when its real path (symlinks resolved) lies inside a configured drive or the thumbs /
cache directory, so a row pointing elsewhere (an edited database, a symlink planted in a drive)
cannot turn this route into a file reader for the whole machine.

GET /api/assets/{id}/file                    the media file (Range: aiohttp's FileResponse)
GET /api/assets/{id}/derivatives/{kind}      thumb | sprite | sprite_index | sprite_vtt | hover |
                                             waveform | proxy   (`?placeholder=1`: an SVG instead of
                                             a 404 for a missing thumb, so a grid never logs errors)
GET /api/assets/derivatives?ids=1,2,3        which derivatives each asset has ({id: [kinds]})
GET /api/assets/{id}/markers                 OBS markers of the recording the asset came from
POST /api/assets/{id}/scenes                 queue media.scenes with its result cached as the
                                             asset's `scenes` derivative (answers {job_id, ...})
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from ..api.helpers import JsonError, json_response
from ..core import Context, Hub, ServiceError, ServiceNotFound
from .index import AssetIndex

# What the browser may ask for, and the file each falls back to in the asset's derivative folder
# (the media services write poster.jpg / sprite.jpg / hover.mp4 / waveform.json there even when the
# index could not record the row, e.g. the poster is recorded under a kind the index does not know).
SERVED_KINDS: dict[str, str | None] = {
    "thumb": "poster.jpg",
    "sprite": "sprite.jpg",
    "sprite_index": "sprite.json",
    "sprite_vtt": "sprite.vtt",
    "hover": "hover.mp4",
    "waveform": "waveform.json",
    "scenes": "scenes.json",
    "proxy": None,
}
MAX_IDS = 500

# Chromium plays H.264/AAC in QuickTime and Matroska files through its MP4/WebM demuxers, but
# refuses `video/quicktime` outright; naming them as the closest type it accepts lets Clip Assist
# play an editing-SSD MOV without a proxy.
BROWSER_TYPES = {
    ".mov": "video/mp4",
    ".m4v": "video/mp4",
    ".mkv": "video/webm",
    ".vtt": "text/vtt",
    ".json": "application/json",
}

PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">'
    '<rect width="320" height="180" fill="#1d2330"/>'
    '<path d="M140 65v50l42-25z" fill="#4a5568"/></svg>'
)


def _inside(path: str, roots: list[Path]) -> bool:
    for root in roots:
        base = os.path.realpath(root)
        if path == base or path.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def servable_roots(hub: Hub) -> list[Path]:
    """The configured drives plus the thumbs and cache directories (derivatives live there)."""
    from ..media.paths import cache_dir, thumbs_dir

    media = ((hub.config.raw or {}).get("media") or {}).get("thumbs_dir")
    return [*hub.config.allowed_dirs, thumbs_dir(hub, media), cache_dir(hub)]


def check_servable(hub: Hub, path: str) -> Path:
    """The real path when it may be served; 403 (outside) or 404 (gone) otherwise."""
    real = os.path.realpath(path)
    if not _inside(real, servable_roots(hub)):
        raise JsonError(403, f"{path} is outside the configured drives and the thumbs directory", "path_not_allowed")
    if not os.path.isfile(real):
        raise JsonError(404, f"{path} does not exist (moved or deleted since it was indexed?)", "not_found")
    return Path(real)


def _file_response(path: Path, *, cache: bool) -> web.FileResponse:
    headers = {"Cache-Control": "private, max-age=3600" if cache else "private, no-cache"}
    content_type = BROWSER_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if content_type:
        headers["Content-Type"] = content_type
    return web.FileResponse(path, headers=headers)


def _asset_id(request: web.Request) -> int:
    raw = request.match_info["asset_id"]
    try:
        return int(raw)
    except ValueError:
        raise JsonError(400, f"asset id must be an integer, got {raw!r}", "invalid_format") from None


def find_derivatives(hub: Hub, asset_path: str, recorded: dict[str, str]) -> dict[str, str]:
    """kind → path of every derivative on disk: recorded rows first, then the asset's folder.

    Blocking (stat calls): run it in a thread.
    """
    from ..media.paths import derivative_dir

    folder = derivative_dir(hub, Path(asset_path))
    candidates: dict[str, list[str]] = {kind: [] for kind in SERVED_KINDS}
    for kind in SERVED_KINDS:
        if kind in recorded:
            candidates[kind].append(recorded[kind])
    if recorded.get("sprite"):
        candidates["sprite_index"].append(str(Path(recorded["sprite"]).with_suffix(".json")))
        candidates["sprite_vtt"].append(str(Path(recorded["sprite"]).with_suffix(".vtt")))
    for kind, name in SERVED_KINDS.items():
        if name:
            candidates[kind].append(str(folder / name))
    found: dict[str, str] = {}
    for kind, paths in candidates.items():
        for path in paths:
            if os.path.isfile(path):
                found[kind] = path
                break
    return found


async def derivative_paths(hub: Hub, index: AssetIndex, asset: dict[str, Any]) -> dict[str, str]:
    """kind → path of every derivative the asset has on disk."""
    rows = await index.db.fetchall("SELECT kind, path FROM so_thumbs WHERE asset_id = ?", (asset["id"],))
    recorded = {row["kind"]: row["path"] for row in rows}
    return await asyncio.to_thread(find_derivatives, hub, asset["path"], recorded)


async def markers_for(index: AssetIndex, asset: dict[str, Any]) -> list[dict[str, Any]]:
    """OBS markers dropped while recording the file this asset is (or was remuxed/moved from).

    A recording keeps the name OBS gave it through remux and move (only the extension and folder
    change), so a session matches when its output file or a marker's file has the asset's stem.
    """
    stem = Path(asset["path"]).stem
    rows = await index.db.fetchall(
        "SELECT id, started, output_path, markers FROM so_sessions"
        " WHERE markers != '[]' AND (output_path LIKE ? OR markers LIKE ?) ORDER BY started",
        (f"%{stem}%", f"%{stem}%"),
    )
    out: list[dict[str, Any]] = []
    for row in rows:
        try:
            markers = json.loads(row["markers"] or "[]")
        except ValueError:
            continue
        session_match = bool(row["output_path"]) and Path(row["output_path"]).stem == stem
        for marker in markers:
            if not isinstance(marker, dict) or not isinstance(marker.get("offset"), int | float):
                continue
            file = marker.get("file")
            if (file and Path(str(file)).stem == stem) or (not file and session_match):
                out.append({"session_id": row["id"], "offset": float(marker["offset"]), "label": marker.get("label")})
    return out


def add_media_routes(app: web.Application, hub: Hub, index: AssetIndex) -> None:
    """Mount the file/derivative/markers routes (token enforced by the http middleware on /api/*)."""

    async def load(request: web.Request) -> dict[str, Any]:
        asset_id = _asset_id(request)
        asset = await index.get(asset_id, full=False)
        if asset is None:
            raise JsonError(404, f"no asset with id {asset_id}", "not_found")
        return asset

    async def serve_file(request: web.Request) -> web.StreamResponse:
        asset = await load(request)
        path = await asyncio.to_thread(check_servable, hub, asset["path"])
        return _file_response(path, cache=False)

    async def serve_derivative(request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind not in SERVED_KINDS:
            raise JsonError(404, f"unknown derivative {kind!r} (one of: {', '.join(SERVED_KINDS)})", "not_found")
        asset = await load(request)
        found = await derivative_paths(hub, index, asset)
        if kind not in found:
            if kind == "thumb" and request.query.get("placeholder"):
                return web.Response(
                    text=PLACEHOLDER_SVG, content_type="image/svg+xml", headers={"Cache-Control": "no-cache"}
                )
            raise JsonError(404, f"asset {asset['id']} has no {kind} yet (run media.{kind})", "not_found")
        path = await asyncio.to_thread(check_servable, hub, found[kind])
        return _file_response(path, cache=True)

    async def list_derivatives(request: web.Request) -> web.Response:
        raw = request.query.get("ids", "")
        try:
            ids = sorted({int(part) for part in raw.split(",") if part.strip()})
        except ValueError:
            raise JsonError(400, f"ids must be comma-separated integers, got {raw!r}", "invalid_format") from None
        if len(ids) > MAX_IDS:
            raise JsonError(400, f"at most {MAX_IDS} ids per request", "invalid_format")
        answer: dict[str, list[str]] = {str(i): [] for i in ids}
        if ids:
            marks = ",".join("?" * len(ids))
            rows = await index.db.fetchall(
                f"SELECT a.id AS id, a.path AS asset_path, t.kind AS kind, t.path AS path FROM so_assets a"
                f" LEFT JOIN so_thumbs t ON t.asset_id = a.id WHERE a.id IN ({marks})",
                ids,
            )
            assets: dict[int, tuple[str, dict[str, str]]] = {}
            for row in rows:
                _, recorded = assets.setdefault(row["id"], (row["asset_path"], {}))
                if row["kind"]:
                    recorded[row["kind"]] = row["path"]

            def look() -> None:
                for asset_id, (path, recorded) in assets.items():
                    answer[str(asset_id)] = sorted(find_derivatives(hub, path, recorded))

            await asyncio.to_thread(look)
        return json_response(answer)

    async def markers(request: web.Request) -> web.Response:
        asset = await load(request)
        return json_response({"asset_id": asset["id"], "markers": await markers_for(index, asset)})

    async def detect_scenes(request: web.Request) -> web.Response:
        from ..media.paths import derivative_dir

        asset = await load(request)
        output = derivative_dir(hub, Path(asset["path"])) / "scenes.json"
        data = {"input": asset["path"], "output": str(output), "wait": False}
        try:
            result = await hub.services.async_call("media", "scenes", data, return_response=True, context=Context())
        except ServiceNotFound as err:
            raise JsonError(503, "scene detection needs the media component (media.scenes)", "unavailable") from err
        except ServiceError as err:
            raise JsonError(400, str(err), "scenes_failed") from err
        return json_response(result)

    app.router.add_get("/api/assets/derivatives", list_derivatives)
    app.router.add_post(r"/api/assets/{asset_id:\d+}/scenes", detect_scenes)
    app.router.add_get(r"/api/assets/{asset_id:\d+}/file", serve_file)
    app.router.add_get(r"/api/assets/{asset_id:\d+}/derivatives/{kind}", serve_derivative)
    app.router.add_get(r"/api/assets/{asset_id:\d+}/markers", markers)


__all__ = ["SERVED_KINDS", "add_media_routes", "check_servable", "derivative_paths", "markers_for"]
