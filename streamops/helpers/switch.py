"""Shared `switch.turn_on|turn_off|toggle` services that dispatch by entity_id.

The core has no entity platforms, so whichever component first needs a switch registers the three
services once; every switch owner (guardrails here; OBS, MQTT ... later) adds its entity with
`async_register_switch`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey, ServiceCall, ServiceError

SwitchHandler = Callable[[bool], Awaitable[None] | None]

SWITCHES: HubKey[dict[str, SwitchHandler]] = HubKey("switch.handlers")


def _entity_ids(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise vol.Invalid("expected an entity id or a list of entity ids")
    return [v.lower() for v in value]


SWITCH_SCHEMA = vol.Schema({vol.Required("entity_id"): _entity_ids}, extra=vol.ALLOW_EXTRA)


def async_register_switch(hub: Hub, entity_id: str, handler: SwitchHandler) -> None:
    """Route switch.turn_on/turn_off/toggle for `entity_id` to `handler(on: bool)`."""
    handlers = hub.data.get(SWITCHES)
    if handlers is None:
        handlers = {}
        hub.data[SWITCHES] = handlers
        for service in ("turn_on", "turn_off", "toggle"):
            hub.services.async_register(
                "switch",
                service,
                _make_service(hub, service),
                SWITCH_SCHEMA,
                description=f"{service.replace('_', ' ').capitalize()} a switch.",
                fields={"entity_id": {"description": "switch entity id(s)", "example": "switch.guardrails"}},
            )
    handlers[entity_id.lower()] = handler


def _make_service(hub: Hub, service: str) -> Callable[[ServiceCall], Awaitable[None]]:
    async def handle(call: ServiceCall) -> None:
        handlers = hub.data.get(SWITCHES) or {}
        for entity_id in call.data["entity_id"]:
            handler = handlers.get(entity_id)
            if handler is None:
                known = ", ".join(sorted(handlers)) or "none"
                raise ServiceError(f"switch.{service}: unknown switch {entity_id} (known: {known})")
            if service == "toggle":
                state = hub.states.get(entity_id)
                on = not (state is not None and state.state == "on")
            else:
                on = service == "turn_on"
            result = handler(on)
            if result is not None:
                await result

    return handle
