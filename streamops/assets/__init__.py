"""Asset index (core component `assets`): every media file findable by three letters.

Services:
- `assets.index` — `path` (file or folder), `force`, `sha256`, `tags`; response: the asset row (a
  folder: a summary). Dry run returns the plan (the ffprobe command, or the files a folder holds).
- `assets.tag` — `path` or `id`, `add` / `remove` / `set`; response: the asset row.
- `assets.search` — the filters of `GET /api/assets`; response: `{total, limit, offset, items}`.

Event `asset_indexed` (`id`, `path`, `drive`, `status`, `error`, `duration`, `xxh64`, `duplicates`).

Functions other components call (all async, all take the hub first):
`record_derivative(hub, asset_path_or_id, kind, path)`, `get_asset(hub, path_or_id)`,
`index_file(hub, path, **options)`, `asset_moved(hub, old_path, new_path)`.

`index_on_close` (default **false**): the default automation pack indexes a recording *after* it
has been remuxed and moved, so indexing the raw MKV at `file_closed` would only index a file about
to disappear. Set `assets: {index_on_close: true}` to index every finished file as it closes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import voluptuous as vol

from ..api import HTTP
from ..core import Event, Hub, ServiceCall, ServiceError, SupportsResponse
from ..recorder import DATABASE
from .api import add_routes
from .index import ASSETS, DERIVATIVE_KINDS, EVENT_ASSET_INDEXED, MEDIA_EXTENSIONS, AssetError, AssetIndex, IndexOptions
from .media_routes import add_media_routes
from .roots import DRIVE_ROOTS, drive_for_path, register_drive_root
from .search import SearchError

_LOGGER = logging.getLogger(__name__)

DOMAIN = "assets"


def _extension(value: Any) -> str:
    text = str(value).strip().lower()
    if not text:
        raise vol.Invalid("empty extension")
    return text if text.startswith(".") else "." + text


CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("index_on_close", default=False): bool,
        vol.Optional("sha256", default=False): bool,
        vol.Optional("concurrency", default=max(2, min(8, os.cpu_count() or 2))): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=64)
        ),
        vol.Optional("probe_timeout", default=60.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=3600)),
        vol.Optional("extensions", default=list(MEDIA_EXTENSIONS)): [_extension],
    }
)

_TAGS = vol.All(vol.Any(str, [vol.Coerce(str)]), lambda v: [v] if isinstance(v, str) else v)

INDEX_SCHEMA = vol.Schema(
    {
        vol.Required("path"): vol.All(str, vol.Length(min=1)),
        vol.Optional("force", default=False): bool,
        vol.Optional("sha256"): bool,
        vol.Optional("tags", default=[]): _TAGS,
    }
)


def _path_or_id(value: dict[str, Any]) -> dict[str, Any]:
    if "path" not in value and "id" not in value:
        raise vol.Invalid("give the asset as path or id")
    return value


TAG_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Exclusive("path", "asset"): vol.All(str, vol.Length(min=1)),
            vol.Exclusive("id", "asset"): vol.Coerce(int),
            vol.Optional("add", default=[]): _TAGS,
            vol.Optional("remove", default=[]): _TAGS,
            vol.Optional("set"): _TAGS,
        }
    ),
    _path_or_id,
)
SEARCH_SCHEMA = vol.Schema(
    {
        vol.Optional("q"): str,
        vol.Optional("drive"): str,
        vol.Optional("codec"): str,
        vol.Optional("container"): str,
        vol.Optional("min_duration"): vol.Coerce(float),
        vol.Optional("max_duration"): vol.Coerce(float),
        vol.Optional("tag"): str,
        vol.Optional("since"): vol.Any(str, vol.Coerce(float)),
        vol.Optional("until"): vol.Any(str, vol.Coerce(float)),
        vol.Optional("status"): vol.In(["ok", "error"]),
        vol.Optional("sort"): str,
        vol.Optional("limit"): vol.Coerce(int),
        vol.Optional("offset"): vol.Coerce(int),
    }
)


def _index(hub: Hub) -> AssetIndex:
    index = hub.data.get(ASSETS)
    if index is None:
        raise RuntimeError("the assets component is not set up")
    return index


async def record_derivative(
    hub: Hub, asset_path_or_id: str | int | os.PathLike[str], kind: str, path: str | os.PathLike[str]
) -> dict[str, Any]:
    """Remember a file derived from an asset (kind: thumb, sprite, sprite_index, hover, waveform, proxy).

    An asset given by a path that is not indexed yet is indexed first. One row per asset and kind:
    recording a kind again replaces the previous path. Raises AssetError for unknown kinds/ids or
    paths outside the drives.
    """
    target = asset_path_or_id if isinstance(asset_path_or_id, int) else os.fspath(asset_path_or_id)
    return await _index(hub).record_derivative(target, kind, path)


async def get_asset(hub: Hub, path_or_id: str | int | os.PathLike[str]) -> dict[str, Any] | None:
    """The asset row (with parsed `tags` and `streams`) by id or path; None when not indexed."""
    target = path_or_id if isinstance(path_or_id, int) else os.fspath(path_or_id)
    return await _index(hub).get(target)


async def index_file(hub: Hub, path: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
    """Index a file (or a folder) now; see AssetIndex.index for the options."""
    return await _index(hub).index(os.fspath(path), **options)


async def asset_moved(hub: Hub, old_path: str, new_path: str) -> dict[str, Any] | None:
    """Tell the index a file moved (files.move): the row keeps its id, hashes, tags and derivatives."""
    return await _index(hub).moved(old_path, new_path)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    options = IndexOptions(
        sha256=config["sha256"],
        probe_timeout=config["probe_timeout"],
        concurrency=config["concurrency"],
        extensions=tuple(config["extensions"]),
    )
    index = AssetIndex(hub, hub.data[DATABASE], options)
    hub.data[ASSETS] = index

    async def handle_index(call: ServiceCall) -> dict[str, Any]:
        try:
            if call.dry_run:
                return await asyncio.to_thread(index.plan, call.data["path"])
            return await index.index(
                call.data["path"],
                force=call.data["force"],
                sha256=call.data.get("sha256"),
                tags=call.data["tags"],
                context=call.context,
            )
        except AssetError as err:
            raise ServiceError(f"assets.index: {err}") from err

    async def handle_tag(call: ServiceCall) -> dict[str, Any]:
        target = call.data.get("id", call.data.get("path"))
        try:
            return await index.set_tags(
                target, add=call.data["add"], remove=call.data["remove"], replace=call.data.get("set")
            )
        except AssetError as err:
            raise ServiceError(f"assets.tag: {err}") from err

    async def handle_search(call: ServiceCall) -> dict[str, Any]:
        try:
            return await index.search(dict(call.data))
        except SearchError as err:
            raise ServiceError(f"assets.search: {err}") from err

    hub.services.async_register(
        DOMAIN, "index", handle_index, INDEX_SCHEMA, supports_response=SupportsResponse.OPTIONAL,
        supports_dry_run=True, description="Index a media file (or every media file under a folder).",
        fields={"path": {"required": True, "description": "File or folder inside a configured drive"},
                "force": {"description": "Re-probe and re-hash even if size and mtime are unchanged"},
                "sha256": {"description": "Also compute SHA-256"}, "tags": {"description": "Tags to add"}},
    )  # fmt: skip
    hub.services.async_register(
        DOMAIN, "tag", handle_tag, TAG_SCHEMA, supports_response=SupportsResponse.OPTIONAL,
        description="Add, remove or set tags of an indexed asset.",
        fields={"path": {}, "id": {}, "add": {}, "remove": {}, "set": {}},
    )  # fmt: skip
    hub.services.async_register(
        DOMAIN, "search", handle_search, SEARCH_SCHEMA, supports_response=SupportsResponse.ONLY,
        description="Search the asset index (prefix search as you type, filters, paging).",
        fields={key: {} for key in ("q", "drive", "codec", "min_duration", "max_duration", "tag", "since", "until")},
    )  # fmt: skip

    if config["index_on_close"]:

        async def on_file_closed(event: Event) -> None:
            path = str(event.data.get("path", ""))
            try:
                await index.index(path, context=event.context)
            except AssetError as err:
                _LOGGER.warning("Not indexing %s: %s", path, err)

        hub.bus.async_listen("file_closed", on_file_closed)

    server = hub.data.get(HTTP)
    if server is not None:
        add_routes(server.app, hub, index)
        add_media_routes(server.app, hub, index)
    return True


__all__ = [
    "ASSETS",
    "CONFIG_SCHEMA",
    "DERIVATIVE_KINDS",
    "DOMAIN",
    "DRIVE_ROOTS",
    "EVENT_ASSET_INDEXED",
    "AssetError",
    "AssetIndex",
    "asset_moved",
    "drive_for_path",
    "get_asset",
    "index_file",
    "record_derivative",
    "register_drive_root",
]
