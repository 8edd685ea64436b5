"""HTTP and WebSocket API (aiohttp): Home Assistant-compatible REST and WebSocket, token auth,
health and Prometheus metrics.

Other components add routes during their setup (they list `http` in `dependencies`)::

    from streamops.api import HTTP
    hub.data[HTTP].app.router.add_get("/api/jobs", list_jobs)    # token enforced under /api/

and WebSocket commands with `async_register_command(hub, "jobs/list", handler, {vol.Optional(...): ...})`,
and metrics with `hub.data[HTTP].metrics.gauge("streamops_jobs_queued", "Jobs waiting", fn)`.
"""

from __future__ import annotations

import logging
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey
from .auth import AuthInfo, create_token, list_tokens, revoke_token, validate_token
from .security import request_auth
from .server import HUB_APP_KEY, SERVER_APP_KEY, HttpServer, HttpServerError
from .websocket_api import HA_VERSION, ActiveConnection, async_register_command

_LOGGER = logging.getLogger(__name__)

DOMAIN = "http"

HTTP: HubKey[HttpServer] = HubKey("http")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7767
DEFAULT_WS_MAX_PENDING = 4096


def _origin(value: Any) -> str:
    text = vol.Url()(value)
    if text.count("/") > 2 and not text.endswith("/"):
        raise vol.Invalid(f"an origin is scheme://host[:port] without a path, not {text!r}")
    return str(text).rstrip("/")


CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("server_host", default=DEFAULT_HOST): str,
        # 0 picks a free port (tests); the bound port is HttpServer.port.
        vol.Optional("server_port", default=DEFAULT_PORT): vol.All(vol.Coerce(int), vol.Range(min=0, max=65535)),
        # Extra Host header names allowed besides localhost/127.0.0.1/[::1] ("*" allows any: only
        # behind a reverse proxy that checks Host itself).
        vol.Optional("trusted_hosts", default=[]): [vol.All(str, vol.Length(min=1))],
        vol.Optional("cors_allowed_origins", default=[]): [_origin],
        vol.Optional("ws_max_pending", default=DEFAULT_WS_MAX_PENDING): vol.All(
            vol.Coerce(int), vol.Range(min=16, max=1_000_000)
        ),
    }
)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from ..recorder import DATABASE
    from .websocket_commands import register_builtin_commands

    server = HttpServer(hub, hub.data[DATABASE], config)
    try:
        server.bind()
    except HttpServerError as err:
        _LOGGER.error("HTTP API not started: %s", err)
        return False
    hub.data[HTTP] = server
    register_builtin_commands(hub)
    hub.async_on_start(server.async_start)
    hub.async_on_stop(server.async_stop)
    return True


__all__ = [
    "CONFIG_SCHEMA",
    "DOMAIN",
    "HA_VERSION",
    "HTTP",
    "HUB_APP_KEY",
    "SERVER_APP_KEY",
    "ActiveConnection",
    "AuthInfo",
    "HttpServer",
    "HttpServerError",
    "async_register_command",
    "async_setup",
    "create_token",
    "list_tokens",
    "request_auth",
    "revoke_token",
    "validate_token",
]
