"""HTTP routes of the asset index (token enforced by the http component's middleware on /api/*).

GET  /api/assets?q=&drive=&codec=&container=&min_duration=&max_duration=&tag=&since=&until=&status=
                &sort=recent|oldest|name|duration|size&limit=&offset=&path=
GET  /api/assets/duplicates?limit=&offset=
GET  /api/assets/{id}
POST /api/assets/index   {"path": "...", "force": false, "dry_run": false}
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from aiohttp import web

from ..api.helpers import JsonError, json_response, read_json
from ..core import Context, Hub, ServiceError
from .index import ASSETS, AssetError, AssetIndex
from .search import SearchError

INDEX_BODY = vol.Schema(
    {
        vol.Required("path"): vol.All(str, vol.Length(min=1)),
        vol.Optional("force", default=False): bool,
        vol.Optional("sha256"): bool,
        vol.Optional("dry_run", default=False): bool,
    }
)


def add_routes(app: web.Application, hub: Hub, index: AssetIndex | None = None) -> None:
    """Mount the asset routes on `app` (the hub's HTTP app, or a bare one in tests)."""
    index = index if index is not None else hub.data[ASSETS]

    async def list_assets(request: web.Request) -> web.Response:
        args: dict[str, Any] = dict(request.query)
        path = args.get("path")
        if path and not hub.config.is_allowed_path(path):
            raise JsonError(403, f"path is outside the configured drives: {path}", "path_not_allowed")
        try:
            return json_response(await index.search(args))
        except SearchError as err:
            raise JsonError(400, str(err), "invalid_query") from err

    async def duplicates(request: web.Request) -> web.Response:
        try:
            limit = min(max(int(request.query.get("limit", 100)), 1), 1000)
            offset = max(int(request.query.get("offset", 0)), 0)
        except ValueError as err:
            raise JsonError(400, "limit and offset must be integers", "invalid_query") from err
        return json_response(await index.duplicates(limit, offset))

    async def get_asset(request: web.Request) -> web.Response:
        asset = await index.detail(int(request.match_info["asset_id"]))
        if asset is None:
            raise JsonError(404, f"no asset with id {request.match_info['asset_id']}", "not_found")
        return json_response(asset)

    async def index_path(request: web.Request) -> web.Response:
        body = await read_json(request, INDEX_BODY)
        data = {key: body[key] for key in ("path", "force", "sha256") if key in body}
        try:
            result = await hub.services.async_call(
                "assets", "index", data, return_response=True, dry_run=body["dry_run"], context=Context()
            )
        except ServiceError as err:
            status = 403 if "outside the configured drives" in str(err) else 400
            raise JsonError(status, str(err), "path_not_allowed" if status == 403 else "index_failed") from err
        return json_response(result)

    app.router.add_get("/api/assets", list_assets)
    app.router.add_get("/api/assets/duplicates", duplicates)
    app.router.add_get(r"/api/assets/{asset_id:\d+}", get_asset)
    app.router.add_post("/api/assets/index", index_path)


__all__ = ["AssetError", "add_routes"]
