"""The Home Assistant-compatible REST subset, health and metrics, on the real server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import voluptuous as vol

from streamops.api import HTTP
from streamops.core import CoreState, Hub, ServiceCall, ServiceError, SupportsResponse
from streamops.recorder import RECORDER
from tests.helpers_api import api_hub, bearer


def add_demo_services(hub: Hub) -> None:
    async def set_scene(call: ServiceCall) -> None:
        hub.states.async_set("sensor.obs_scene", call.data["scene"])

    async def fail(call: ServiceCall) -> None:
        raise ServiceError("OBS is not connected")

    async def broken(call: ServiceCall) -> None:
        raise KeyError("bug")

    async def search(call: ServiceCall) -> dict[str, object]:
        return {"hits": [call.data["q"]]}

    hub.services.async_register(
        "obs",
        "set_scene",
        set_scene,
        vol.Schema({vol.Required("scene"): str}),
        description="Switch scene",
        fields={"scene": {"description": "scene name", "example": "Gameplay"}},
    )
    hub.services.async_register("obs", "fail", fail)
    hub.services.async_register("obs", "broken", broken)
    hub.services.async_register("assets", "search", search, supports_response=SupportsResponse.ONLY)


async def test_status_config_states_crud(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, url, token), aiohttp.ClientSession(headers=bearer(token)) as s:
        async with s.get(f"{url}/api/") as resp:
            assert await resp.json() == {"message": "API running."}
        async with s.get(f"{url}/api/config") as resp:
            config = await resp.json()
            assert config["state"] == "RUNNING" and config["safe_mode"] is False
            assert isinstance(config["components"], list) and config["time_zone"]
        async with s.post(f"{url}/api/states/sensor.cpu", json={"state": 12.5, "attributes": {"unit": "%"}}) as resp:
            assert resp.status == 201
            assert resp.headers["Location"] == "/api/states/sensor.cpu"
            body = await resp.json()
            assert body["state"] == "12.5" and body["attributes"] == {"unit": "%"}
        async with s.post(f"{url}/api/states/sensor.cpu", json={"state": "13"}) as resp:
            assert resp.status == 200
            assert (await resp.json())["attributes"] == {"unit": "%"}
        state = hub.states.get("sensor.cpu")
        assert state is not None and state.state == "13"
        assert state.context is not None and state.context.user_id and state.context.user_id.startswith("token:")
        async with s.get(f"{url}/api/states/sensor.cpu") as resp:
            assert (await resp.json())["state"] == "13"
        async with s.get(f"{url}/api/states") as resp:
            assert [st["entity_id"] for st in await resp.json()] == ["sensor.cpu"]
        async with s.delete(f"{url}/api/states/sensor.cpu") as resp:
            assert await resp.json() == {"message": "Entity removed."}
        assert hub.states.get("sensor.cpu") is None


async def test_services_list_and_calls(tmp_path: Path) -> None:
    async with (
        api_hub(tmp_path, setup=add_demo_services) as (_hub, url, token),
        aiohttp.ClientSession(headers=bearer(token)) as s,
    ):
        async with s.get(f"{url}/api/services") as resp:
            services = {entry["domain"]: entry["services"] for entry in await resp.json()}
        assert services["obs"]["set_scene"]["description"] == "Switch scene"
        assert services["obs"]["set_scene"]["fields"]["scene"]["example"] == "Gameplay"

        async with s.post(f"{url}/api/services/obs/set_scene", json={"scene": "Gameplay"}) as resp:
            assert resp.status == 200
            changed = await resp.json()
        assert [(st["entity_id"], st["state"]) for st in changed] == [("sensor.obs_scene", "Gameplay")]

        async with s.post(f"{url}/api/services/obs/set_scene", json={"scene": 5}) as resp:
            assert resp.status == 400
            body = await resp.json()
            assert body["code"] == "service_validation_error" and "scene" in body["message"]
        async with s.post(f"{url}/api/services/obs/nope", json={}) as resp:
            assert resp.status == 400
            body = await resp.json()
            assert body["code"] == "service_not_found" and "obs.nope" in body["message"]
        async with s.post(f"{url}/api/services/obs/fail", json={}) as resp:
            assert resp.status == 409
            assert (await resp.json())["message"] == "OBS is not connected"
        async with s.post(f"{url}/api/services/obs/broken", json={}) as resp:
            assert resp.status == 500
            assert (await resp.json())["code"] == "internal_error"
        async with s.post(f"{url}/api/services/assets/search", json={"q": "abc"}) as resp:
            assert resp.status == 400  # response-only service called without ?return_response
        async with s.post(f"{url}/api/services/assets/search?return_response", json={"q": "abc"}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"changed_states": [], "service_response": {"hits": ["abc"]}}
        async with s.post(f"{url}/api/services/obs/set_scene?return_response", json={"scene": "x"}) as resp:
            assert resp.status == 400  # this one returns nothing


async def test_fire_event_and_list_listeners(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, url, token), aiohttp.ClientSession(headers=bearer(token)) as s:
        seen: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        hub.bus.async_listen("obs_marker", lambda event: seen.done() or seen.set_result(dict(event.data)))
        async with s.post(f"{url}/api/events/obs_marker", json={"label": "clutch"}) as resp:
            assert await resp.json() == {"message": "Event obs_marker fired."}
        assert await asyncio.wait_for(seen, 5) == {"label": "clutch"}
        async with s.post(f"{url}/api/events/obs_marker") as resp:  # empty body is an empty event
            assert resp.status == 200
        async with s.get(f"{url}/api/events") as resp:
            assert {"event": "obs_marker", "listener_count": 1} in await resp.json()


async def test_health_live_and_ready(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, url, _token), aiohttp.ClientSession() as s:
        async with s.get(f"{url}/health/live") as resp:
            assert resp.status == 200 and await resp.json() == {"status": "ok"}
        async with s.get(f"{url}/health/ready") as resp:
            assert resp.status == 200
            assert (await resp.json())["config_errors"] == 0
        hub.config.errors.extend(["configuration.yaml:3: unknown key 'obss'", "x.yaml:1: bad"])
        hub.state = CoreState.SAFE_MODE
        async with s.get(f"{url}/health/ready") as resp:
            assert resp.status == 503
            body = await resp.json()
            assert body["config_errors"] == 2 and "safe mode" in body["reason"]
        hub.state = CoreState.STARTING
        async with s.get(f"{url}/health/ready") as resp:
            assert resp.status == 503 and (await resp.json())["reason"] == "starting"
        hub.state = CoreState.RUNNING


async def test_metrics_builtin_and_component_gauges(tmp_path: Path) -> None:
    def add_gauges(hub: Hub) -> None:
        metrics = hub.data[HTTP].metrics
        metrics.gauge("streamops_jobs_queued", "Jobs waiting", lambda: 3)
        metrics.gauge("streamops_drive_free_bytes", "Free bytes", lambda: {'games "ssd"': 1.5e9}, labels=("drive",))
        metrics.gauge("streamops_broken", "Raises", lambda: 1 / 0)

    async with (
        api_hub(tmp_path, setup=add_gauges) as (hub, url, token),
        aiohttp.ClientSession(headers=bearer(token)) as s,
    ):
        hub.states.async_set("sensor.a", "1")
        hub.states.async_set("sensor.a", "2")
        hub.bus.async_fire("obs_marker", {})
        await hub.async_block_till_done()
        async with s.get(f"{url}/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            text = await resp.text()
    lines = text.splitlines()
    assert 'streamops_events_total{event_type="state_changed"} 2' in lines
    assert 'streamops_events_total{event_type="obs_marker"} 1' in lines
    assert "streamops_states 1" in lines
    assert 'streamops_states_by_domain{domain="sensor"} 1' in lines
    assert "streamops_websocket_clients 0" in lines
    assert "# TYPE streamops_jobs_queued gauge" in lines and "streamops_jobs_queued 3" in lines
    assert 'streamops_drive_free_bytes{drive="games \\"ssd\\""} 1500000000.0' in lines
    assert "streamops_broken" not in text  # a failing gauge is left out, the scrape still works
    assert any(line.startswith("streamops_uptime_seconds ") for line in lines)


async def test_history_from_the_recorder(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, url, token), aiohttp.ClientSession(headers=bearer(token)) as s:
        if not hasattr(hub.data.get(RECORDER), "get_history"):
            async with s.get(f"{url}/api/history/period?filter_entity_id=sensor.a") as resp:
                assert resp.status == 404
            return
        start = datetime.fromtimestamp(time.time() - 5, UTC).isoformat()
        for value in ("1", "2", "3"):
            hub.states.async_set("sensor.a", value, {"unit": "x"})
        hub.states.async_set("sensor.b", "on")
        await hub.async_block_till_done()
        async with s.get(
            f"{url}/api/history/period/{start}", params={"filter_entity_id": "sensor.a,sensor.b,sensor.none"}
        ) as resp:
            assert resp.status == 200, await resp.text()
            history = await resp.json()
        assert [[st["state"] for st in entity] for entity in history] == [["1", "2", "3"], ["on"]]
        assert datetime.fromisoformat(history[0][0]["last_changed"]).tzinfo is not None
        async with s.get(
            f"{url}/api/history/period/{start}",
            params={"filter_entity_id": "sensor.a", "minimal_response": "", "no_attributes": ""},
        ) as resp:
            minimal = await resp.json()
        assert minimal[0][1] == {"state": "2", "last_changed": minimal[0][1]["last_changed"]}
        assert "attributes" not in minimal[0][0]
        async with s.get(f"{url}/api/history/period", params={"filter_entity_id": "Bad Id"}) as resp:
            assert resp.status == 400
