"""REST API for automations: list, get, create, update, delete, reload, traces, simulate.

    GET    /api/automations                     every automation with state and source file:line
    POST   /api/automations                     create (JSON body = the automation), 201
    GET    /api/automations/{id}                one, with its config as written
    PUT    /api/automations/{id}                replace (validated first; written to its file)
    DELETE /api/automations/{id}                remove from its file (shipped defaults: 400)
    POST   /api/automations/reload              re-read YAML; invalid → 400 and the old set keeps running
    GET    /api/automations/{id}/traces?limit=  newest first
    POST   /api/automations/{id}/simulate       {"file": PATH} or {"trigger": {...}}, optional
                                                "variables", "skip_condition" → the dry-run plan

Writes are validated before anything touches a file, then applied with a reload; if the reload
fails (another automation in the files is broken), the file is restored and the errors returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import voluptuous as vol
from aiohttp import web

from ..api.helpers import JsonError, json_response, read_json
from ..core import Hub
from .config import validate_automation
from .manager import AutomationManager, ReloadError
from .yaml_store import CONFIG_FILE, AutomationStore, StoreError

SIMULATE_SCHEMA = vol.Schema(
    {
        vol.Optional("file"): vol.All(str, vol.Length(min=1)),
        vol.Optional("trigger"): dict,
        vol.Optional("variables", default=dict): dict,
        vol.Optional("skip_condition", default=False): bool,
    }
)


def register_routes(app: web.Application, hub: Hub) -> None:
    from . import AUTOMATIONS

    def manager() -> AutomationManager:
        found = hub.data.get(AUTOMATIONS)
        if found is None:
            raise JsonError(503, "the automation engine is not set up")
        return found

    def entity_or_404(automation_id: str) -> Any:
        entity = manager().get(automation_id)
        if entity is None:
            raise JsonError(404, f"no automation '{automation_id}'")
        return entity

    def describe(entity: Any) -> dict[str, Any]:
        summary = next(s for s in manager().summaries() if s["id"] == entity.id)
        return {**summary, "config": entity.config.raw}

    async def list_all(request: web.Request) -> web.Response:
        return json_response(manager().summaries())

    async def get_one(request: web.Request) -> web.Response:
        return json_response(describe(entity_or_404(request.match_info["id"])))

    def check(body: Any) -> None:
        if not isinstance(body, dict):
            raise JsonError(400, "the body must be a JSON object (one automation)")
        config, errors = validate_automation(body, config_dir=hub.config.config_dir)
        if errors or config is None:
            raise _invalid([str(e) for e in errors])

    async def apply(file: Path, automation_id: str, body: dict[str, Any], *, inline: bool) -> None:
        store = AutomationStore(hub.config.config_dir)
        config_before = store.snapshot(Path(CONFIG_FILE))
        before = store.snapshot(file)
        try:
            store.upsert(file, automation_id, body, inline=inline)
            await manager().async_reload()
        except ReloadError as err:
            store.restore(file, before)
            store.restore(Path(CONFIG_FILE), config_before)
            raise _invalid([str(e) for e in err.errors], "not saved: the configuration would not load") from err
        except StoreError as err:
            raise JsonError(400, str(err)) from err

    def place_for(automation_id: str) -> tuple[Path, bool]:
        store = AutomationStore(hub.config.config_dir)
        entity = manager().get(automation_id)
        if entity is not None and entity.config.origin == "user" and entity.config.file:
            file = Path(entity.config.file)
            return file, file.name == CONFIG_FILE and file.parent == Path(".")
        try:
            target, inline = store.target_for_new(automation_id)
        except StoreError as err:
            raise JsonError(400, str(err)) from err
        return target.relative_to(store.config_dir), inline

    async def create(request: web.Request) -> web.Response:
        body = await read_json(request)
        check(body)
        config, _errors = validate_automation(body, config_dir=hub.config.config_dir)
        assert config is not None
        if manager().get(config.id) is not None:
            raise JsonError(409, f"an automation with id '{config.id}' exists (use PUT to change it)")
        body.setdefault("id", config.id)
        file, inline = place_for(config.id)
        await apply(file, config.id, body, inline=inline)
        return json_response(describe(entity_or_404(config.id)), status=201)

    async def update(request: web.Request) -> web.Response:
        automation_id = request.match_info["id"]
        entity_or_404(automation_id)
        body = await read_json(request)
        if isinstance(body, dict):
            if "id" in body and str(body["id"]) != automation_id:
                raise JsonError(400, f"the body's id '{body['id']}' differs from '{automation_id}' in the URL")
            body["id"] = automation_id
        check(body)
        file, inline = place_for(automation_id)
        await apply(file, automation_id, body, inline=inline)
        return json_response(describe(entity_or_404(automation_id)))

    async def delete(request: web.Request) -> web.Response:
        automation_id = request.match_info["id"]
        entity = entity_or_404(automation_id)
        if entity.config.origin != "user" or not entity.config.file:
            raise JsonError(400, f"'{automation_id}' is a shipped default: turn it off (automation.turn_off) instead")
        store = AutomationStore(hub.config.config_dir)
        file = Path(entity.config.file)
        before = store.snapshot(file)
        try:
            if not store.delete(file, automation_id):
                raise JsonError(409, f"'{automation_id}' was not found in {file} (edited by hand?); reload first")
            await manager().async_reload()
        except ReloadError as err:
            store.restore(file, before)
            raise _invalid([str(e) for e in err.errors], "not deleted: the configuration would not load") from err
        return json_response({"deleted": automation_id, "file": str(file)})

    async def reload(request: web.Request) -> web.Response:
        try:
            loaded = await manager().async_reload()
        except ReloadError as err:
            raise _invalid([str(e) for e in err.errors], "not reloaded: the previous automations keep running") from err
        return json_response({"count": len(loaded)})

    async def traces(request: web.Request) -> web.Response:
        entity = entity_or_404(request.match_info["id"])
        try:
            limit = max(1, min(100, int(request.query.get("limit", "20"))))
        except ValueError as err:
            raise JsonError(400, "limit must be a whole number") from err
        return json_response(await manager().traces.get(entity.id, limit))

    async def simulate(request: web.Request) -> web.Response:
        from . import async_simulate

        entity = entity_or_404(request.match_info["id"])
        body = await read_json(request, SIMULATE_SCHEMA)
        if body.get("file") and not hub.config.is_allowed_path(body["file"]) and hub.config.allowed_dirs:
            raise JsonError(400, f"{body['file']} is not inside a configured drive")
        result = await async_simulate(
            hub,
            entity.id,
            file=body.get("file"),
            trigger=body.get("trigger"),
            variables=body["variables"],
            skip_condition=body["skip_condition"],
        )
        return json_response(result)

    router = app.router
    router.add_get("/api/automations", list_all)
    router.add_post("/api/automations", create)
    router.add_post("/api/automations/reload", reload)
    router.add_get("/api/automations/{id}", get_one)
    router.add_put("/api/automations/{id}", update)
    router.add_delete("/api/automations/{id}", delete)
    router.add_get("/api/automations/{id}/traces", traces)
    router.add_post("/api/automations/{id}/simulate", simulate)


def _invalid(errors: list[str], message: str = "invalid automation") -> web.HTTPException:
    import json

    error = JsonError(400, message)
    error.text = json.dumps({"message": message, "errors": errors})
    return error
