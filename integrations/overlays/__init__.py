"""Overlays: sponsor and brand packs as OBS browser sources, a rotator, and an honest impression log.

Packs live in `<config>/overlays/<name>/` (a manifest plus its images, videos and fonts). Each is
served at `/overlay/<name>?key=...` — outside `/api`, so it needs no admin token, but only its own
revocable read-only key — as a transparent page that follows the hub over a WebSocket. The hub owns
what every slot shows and the accounting of what the page reports it actually showed.

    overlays:
      directory: overlays        # under the config dir (default)
      base_url: http://127.0.0.1:7767   # optional: the address OBS reaches the hub by
      reconnect_grace: 30        # seconds a dropped page's open displays wait for it to come back
"""

from __future__ import annotations

import logging
from typing import Any

import voluptuous as vol

from streamops.core import Hub, HubKey

from .manager import OverlayManager

_LOGGER = logging.getLogger(__name__)

DOMAIN = "overlays"

OVERLAYS: HubKey[OverlayManager] = HubKey("overlays")

CONFIG_SCHEMA = vol.Schema(
    vol.All(
        lambda value: {} if value is None else value,
        {
            vol.Optional("directory", default="overlays"): vol.All(str, vol.Length(min=1)),
            vol.Optional("base_url"): vol.All(vol.Url(), lambda url: str(url).rstrip("/")),
            vol.Optional("reconnect_grace", default=30.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=3600)),
        },
    )
)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from streamops.api import HTTP
    from streamops.recorder import DATABASE

    from .http import register_routes
    from .services import register_services

    manager = OverlayManager(hub, hub.data[DATABASE], config)
    hub.data[OVERLAYS] = manager
    results = await manager.async_load()
    if not results:
        _LOGGER.info("No overlay packs in %s", manager.folder)
    register_routes(hub.data[HTTP].app, manager)
    register_services(hub, manager)
    manager.start_checkpoints()
    hub.async_on_stop(manager.async_stop)
    return True


__all__ = ["CONFIG_SCHEMA", "DOMAIN", "OVERLAYS", "OverlayManager", "async_setup"]
