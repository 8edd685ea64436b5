"""The dashboard: serves `www/app` at `/`, `dashboard.yaml` as JSON, and the settings API.

Routes (all JSON routes under `/api`, so the http component's token/cookie check covers them):

    GET  /                     the shell (www/app/index.html) and its modules (static.py)
    GET  /api/dashboard        dashboard.yaml as JSON (the shipped default when the user has none)
    PUT  /api/dashboard        validate, then write <config>/dashboard.yaml atomically
    POST /api/frontend/yaml    parse YAML text from an editor → JSON, with errors at their line
    GET  /api/settings         every UI setting: value in force, source (default/ui/yaml/env), why
    PUT  /api/settings         {key: value|null}: save to so_configs and apply to the running hub
    GET  /api/tokens           list access tokens (no secrets), POST create, DELETE /api/tokens/{id}

Safe mode keeps it (manifest `safe_mode: true`): with a broken configuration the dashboard still
opens, so the user can see what is wrong.
"""

from __future__ import annotations

import logging
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey
from .settings import SettingsManager

_LOGGER = logging.getLogger(__name__)

DOMAIN = "frontend"

CONFIG_SCHEMA = vol.Schema({}, extra=vol.PREVENT_EXTRA)

SETTINGS: HubKey[SettingsManager] = HubKey("frontend.settings")


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from ..api import HTTP
    from ..recorder import RECORDER
    from .api import register_api_routes
    from .dashboard import register_dashboard_routes
    from .editor import register_yaml_routes
    from .static import register_static_routes

    server = hub.data.get(HTTP)
    if server is None:
        _LOGGER.error("The dashboard needs the http component")
        return False
    register_static_routes(server.app)
    register_dashboard_routes(server.app, hub)
    register_yaml_routes(server.app, hub)
    recorder = hub.data.get(RECORDER)
    if recorder is not None:
        settings = SettingsManager(hub, recorder)
        hub.data[SETTINGS] = settings
        register_api_routes(server.app, hub, settings)
        # After every component's own start hook (registered earlier: they set up before us).
        hub.async_on_start(settings.apply_stored)
    return True
