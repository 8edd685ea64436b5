"""`/health/live`, `/health/ready` (no auth, for probes) and `/metrics` (Prometheus, token needed)."""

from __future__ import annotations

from aiohttp import web

from ..core import CoreState
from .helpers import json_response


async def health_live(request: web.Request) -> web.Response:
    """The process answers: a container supervisor restarts it only when this stops answering."""
    return json_response({"status": "ok"})


async def health_ready(request: web.Request) -> web.Response:
    """200 only when the hub runs normally; 503 while starting/stopping or in safe mode (with why)."""
    from .server import HUB_APP_KEY

    hub = request.app[HUB_APP_KEY]
    errors = len(hub.config.errors)
    body: dict[str, object] = {"state": hub.state.value, "config_errors": errors}
    if hub.state == CoreState.RUNNING:
        return json_response({"status": "ok", **body})
    if hub.state == CoreState.SAFE_MODE:
        reason = f"safe mode: the configuration has {errors} error(s); fix them and restart"
    elif hub.state in (CoreState.NOT_RUNNING, CoreState.STARTING):
        reason = "starting"
    else:
        reason = "stopping"
    return json_response({"status": "unavailable", "reason": reason, **body}, status=503)


async def metrics_view(request: web.Request) -> web.Response:
    from .server import SERVER_APP_KEY

    text = request.app[SERVER_APP_KEY].metrics.render()
    return web.Response(
        text=text, content_type="text/plain", charset="utf-8", headers={"X-Content-Type-Options": "nosniff"}
    )


def register_health_routes(app: web.Application) -> None:
    app.router.add_get("/health/live", health_live)
    app.router.add_get("/health/ready", health_ready)
    app.router.add_get("/metrics", metrics_view)
