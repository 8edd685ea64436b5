"""Backup API: `POST /api/backup`, `GET /api/backups`, `GET /api/backups/{name}`, `POST /api/restore`.

The token middleware guards everything under /api/. A restore through the API is validated at
once and *staged*: the database is open in this running hub, so it is applied at the next start
(the response says so), before anything opens the database.
"""

from __future__ import annotations

import asyncio
import os

import voluptuous as vol
from aiohttp import web

from ..api.helpers import JsonError, json_response, read_json
from ..core import Hub
from .archive import BackupError, create_backup, list_backups, prune_backups, resolve_backup
from .restore import RestoreError, pending_restore, stage_restore

HUB_KEY: web.AppKey[Hub] = web.AppKey("streamops_backup_hub", Hub)

BACKUP_SCHEMA = vol.Schema({vol.Optional("label"): vol.All(str, vol.Length(max=40))})
RESTORE_SCHEMA = vol.Schema({vol.Required("name"): vol.All(str, vol.Length(min=1, max=200))})
RESTART_MESSAGE = (
    "The backup is valid and staged. Restart StreamOps to apply it: the current state is kept as a"
    " safety copy first (container: restart it; native install: stop the hub and run"
    " `streamops restore --pending`)."
)


def add_routes(app: web.Application, hub: Hub) -> None:
    app[HUB_KEY] = hub
    app.router.add_post("/api/backup", create_view)
    app.router.add_get("/api/backups", list_view)
    app.router.add_get("/api/backups/{name}", download_view)
    app.router.add_post("/api/restore", restore_view)


def _where(request: web.Request):  # type: ignore[no-untyped-def]
    from . import locations_of

    return locations_of(request.app[HUB_KEY])


async def create_view(request: web.Request) -> web.Response:
    from . import BACKUP_SETTINGS

    data = await read_json(request, BACKUP_SCHEMA)
    hub = request.app[HUB_KEY]
    where = _where(request)
    try:
        path = await asyncio.to_thread(create_backup, where, label=data.get("label"), hub_running=True)
    except (BackupError, OSError) as err:
        raise JsonError(500, f"backup failed: {err}", "backup_failed") from err
    keep = hub.data.get(BACKUP_SETTINGS, {}).get("keep")
    removed = await asyncio.to_thread(prune_backups, where.backup_dir, keep) if keep else []
    return json_response({"name": path.name, "size": path.stat().st_size, "removed": removed}, status=201)


async def list_view(request: web.Request) -> web.Response:
    where = _where(request)
    backups = await asyncio.to_thread(list_backups, where.backup_dir)
    return json_response({"backups": backups, "pending_restore": pending_restore(where)})


async def download_view(request: web.Request) -> web.StreamResponse:
    where = _where(request)
    try:
        path = resolve_backup(where.backup_dir, request.match_info["name"])
    except BackupError as err:
        raise JsonError(404, str(err), "not_found") from err
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{path.name}"',
            "Cache-Control": "no-store",
        },
    )


async def restore_view(request: web.Request) -> web.Response:
    data = await read_json(request, RESTORE_SCHEMA)
    where = _where(request)
    try:
        source = resolve_backup(where.backup_dir, data["name"])
    except BackupError as err:
        raise JsonError(404, str(err), "not_found") from err
    try:
        pending = await asyncio.to_thread(stage_restore, where, source, dict(os.environ))
    except RestoreError as err:
        raise JsonError(400, f"not restored, nothing was changed: {err}", "invalid_backup") from err
    return json_response(
        {"status": "restart_required", "restart_required": True, "staged": pending, "message": RESTART_MESSAGE},
        status=202,
    )
