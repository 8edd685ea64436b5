"""`POST /api/frontend/yaml`: check YAML typed in a browser editor and return it as JSON.

`kind` picks the validation: `automation` (the automation engine's own validator: HA format, rule
format, blueprints), `dashboard` (dashboard.yaml's schema) or `any` (syntax only). Errors carry the
editor's line numbers. Nothing is written: the page then saves the JSON through the owning API
(`PUT /api/automations/{id}`, `PUT /api/dashboard`), which validates again.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
import yaml
from aiohttp import web

from ..api.helpers import json_response, read_json
from ..config.errors import ConfigError
from ..core import Hub
from .dashboard import validate_dashboard
from .yaml_text import error_dicts, parse_yaml_text, plain

YAML_REQUEST = vol.Schema(
    {
        vol.Required("text"): str,
        vol.Optional("kind", default="any"): vol.In(["any", "automation", "dashboard"]),
    }
)


def check_yaml(hub: Hub, text: str, kind: str) -> tuple[Any, list[ConfigError]]:
    data, errors = parse_yaml_text(text)
    if errors:
        return None, errors
    if kind == "automation":
        from ..automation.config import validate_automation

        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        _config, errors = validate_automation(data, config_dir=hub.config.config_dir)
        errors = [e if e.line is not None else ConfigError(e.message, e.file or "editor.yaml", 1) for e in errors]
    elif kind == "dashboard":
        _validated, errors = validate_dashboard(data, "editor.yaml")
    return plain(data), errors


def register_yaml_routes(app: web.Application, hub: Hub) -> None:
    async def check(request: web.Request) -> web.Response:
        body = await read_json(request, YAML_REQUEST)
        data, errors = check_yaml(hub, body["text"], body["kind"])
        return json_response({"data": data if not errors else None, "errors": error_dicts(errors)})

    async def dump(request: web.Request) -> web.Response:
        """JSON → YAML text for an editor (the browser has no YAML library)."""
        body = await read_json(request, vol.Schema({vol.Required("data"): object}))
        text = yaml.safe_dump(body["data"], sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
        return json_response({"text": text})

    app.router.add_post("/api/frontend/yaml", check)
    app.router.add_post("/api/frontend/yaml/dump", dump)
