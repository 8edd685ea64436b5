"""An existing Home Assistant WebSocket client library (`hass-client`, unchanged) talks to StreamOps.

Skipped when the library is not installed (it is optional: `pip install hass-client`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol

from streamops.core import Hub, ServiceCall
from tests.helpers_api import api_hub

hass_client = pytest.importorskip("hass_client")


def add_service(hub: Hub) -> None:
    async def set_scene(call: ServiceCall) -> None:
        hub.states.async_set("sensor.obs_scene", call.data["scene"])

    hub.services.async_register("obs", "set_scene", set_scene, vol.Schema({vol.Required("scene"): str}))


async def test_hass_client_library_works_unchanged(tmp_path: Path) -> None:
    async with api_hub(tmp_path, setup=add_service) as api:
        api.hub.states.async_set("binary_sensor.obs_recording", "off")
        async with hass_client.HomeAssistantClient(api.ws_url, api.token) as client:
            assert client.version == "2024.1.0"
            states = await client.get_states()
            assert [s["entity_id"] for s in states] == ["binary_sensor.obs_recording"]
            config = await client.get_config()
            assert config["state"] == "RUNNING"
            services = await client.get_services()
            assert "set_scene" in services["obs"]

            events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            unsubscribe = await client.subscribe_events(events.put_nowait, "state_changed")
            entity_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            await client.subscribe_entities(entity_events.put_nowait, ["sensor.obs_scene"])

            result = await client.call_service("obs", "set_scene", {"scene": "Gameplay"})
            assert result["context"]["id"]
            event = await asyncio.wait_for(events.get(), 5)
            assert event["data"]["new_state"]["state"] == "Gameplay"
            initial = await asyncio.wait_for(entity_events.get(), 5)
            if "a" in initial and not initial["a"]:
                initial = await asyncio.wait_for(entity_events.get(), 5)
            assert initial["a"]["sensor.obs_scene"]["s"] == "Gameplay"
            unsubscribe()  # sends unsubscribe_events in the background

            with pytest.raises(hass_client.exceptions.FailedCommand, match=r"obs\.nope"):
                await client.call_service("obs", "nope")

        with pytest.raises(hass_client.exceptions.AuthenticationFailed):
            async with hass_client.HomeAssistantClient(api.ws_url, "wrong-token"):
                pass
