"""The WebSocket API, spoken by a real aiohttp WebSocket client exactly as Home Assistant's clients do."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import voluptuous as vol

from streamops.api import HA_VERSION, HTTP, ActiveConnection, async_register_command
from streamops.core import Hub, ServiceCall, ServiceValidationError, SupportsResponse
from tests.helpers_api import ApiHub, api_hub
from tests.waiting import wait_until


async def connect(api: ApiHub, session: aiohttp.ClientSession, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(api.ws_url, **kwargs)
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "auth_required" and hello["ha_version"] == HA_VERSION and "streamops_version" in hello
    await ws.send_json({"type": "auth", "access_token": api.token})
    ok = await ws.receive_json(timeout=5)
    assert ok["type"] == "auth_ok" and ok["ha_version"] == HA_VERSION
    return ws


async def command(ws: aiohttp.ClientWebSocketResponse, msg: dict[str, Any]) -> dict[str, Any]:
    await ws.send_json(msg)
    while True:
        reply = await ws.receive_json(timeout=5)
        if reply["id"] == msg["id"] and reply["type"] in ("result", "pong"):
            return reply


def add_services(hub: Hub) -> None:
    async def set_scene(call: ServiceCall) -> None:
        hub.states.async_set("sensor.obs_scene", call.data["scene"], context=call.context)

    async def search(call: ServiceCall) -> dict[str, Any]:
        return {"hits": [call.data["q"]]}

    async def strict(call: ServiceCall) -> None:
        raise ServiceValidationError("scene 'x' does not exist")

    hub.services.async_register("obs", "set_scene", set_scene, vol.Schema({vol.Required("scene"): str}))
    hub.services.async_register("assets", "search", search, supports_response=SupportsResponse.OPTIONAL)
    hub.services.async_register("obs", "strict", strict)


async def test_auth_invalid_closes(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as api, aiohttp.ClientSession() as session:
        for auth in ({"type": "auth", "access_token": "nope"}, {"type": "auth"}, {"type": "ping", "id": 1}):
            ws = await session.ws_connect(api.ws_url)
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json(auth)
            reply = await ws.receive_json(timeout=5)
            assert reply["type"] == "auth_invalid" and reply["message"]
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            await ws.close()


async def test_cookie_session_authenticates_websocket(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as api:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            login = f"{api.base_url}/auth/login?token={api.token}"
            await (await session.get(login, allow_redirects=False)).release()
            async with session.ws_connect(api.ws_url, origin=api.base_url) as ws:
                assert (await ws.receive_json())["type"] == "auth_required"
                await ws.send_json({"type": "auth"})  # no access_token: the upgrade's cookie counts
                assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
                reply = await command(ws, {"id": 1, "type": "auth/current_user"})
                assert reply["result"]["name"] == "test owner" and reply["result"]["is_owner"] is True


async def test_commands_ping_states_config_services(tmp_path: Path) -> None:
    async with api_hub(tmp_path, setup=add_services) as api, aiohttp.ClientSession() as session:
        api.hub.states.async_set("sensor.cpu", "12", {"unit": "%"})
        ws = await connect(api, session)
        assert await command(ws, {"id": 1, "type": "ping"}) == {"id": 1, "type": "pong"}
        states = (await command(ws, {"id": 2, "type": "get_states"}))["result"]
        assert [(s["entity_id"], s["state"], s["attributes"]) for s in states] == [("sensor.cpu", "12", {"unit": "%"})]
        config = (await command(ws, {"id": 3, "type": "get_config"}))["result"]
        assert config["state"] == "RUNNING" and config["safe_mode"] is False
        services = (await command(ws, {"id": 4, "type": "get_services"}))["result"]
        assert "set_scene" in services["obs"] and "search" in services["assets"]
        await ws.close()


async def test_subscribe_events_sees_state_change_and_unsubscribe(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as api, aiohttp.ClientSession() as session:
        ws = await connect(api, session)
        reply = await command(ws, {"id": 5, "type": "subscribe_events", "event_type": "state_changed"})
        assert reply == {"id": 5, "type": "result", "success": True, "result": None}
        api.hub.states.async_set("binary_sensor.obs_recording", "on", {"friendly_name": "Recording"})
        event = await ws.receive_json(timeout=5)
        assert event["id"] == 5 and event["type"] == "event"
        assert event["event"]["event_type"] == "state_changed"
        data = event["event"]["data"]
        assert data["entity_id"] == "binary_sensor.obs_recording" and data["old_state"] is None
        assert data["new_state"]["state"] == "on" and data["new_state"]["attributes"]["friendly_name"] == "Recording"
        # "*" (hass-client's default) and no event_type both mean all events.
        await command(ws, {"id": 6, "type": "subscribe_events", "event_type": "*"})
        api.hub.bus.async_fire("obs_marker", {"n": 1})
        marker = await ws.receive_json(timeout=5)
        assert marker["id"] == 6 and marker["event"]["data"] == {"n": 1}
        assert (await command(ws, {"id": 7, "type": "unsubscribe_events", "subscription": 5}))["success"]
        assert (await command(ws, {"id": 8, "type": "unsubscribe_events", "subscription": 6}))["success"]
        missing = await command(ws, {"id": 9, "type": "unsubscribe_events", "subscription": 5})
        assert missing["error"]["code"] == "not_found"
        api.hub.states.async_set("binary_sensor.obs_recording", "off")
        assert (await command(ws, {"id": 10, "type": "ping"}))["type"] == "pong"  # no event came before it
        await ws.close()


async def test_call_service_and_fire_event(tmp_path: Path) -> None:
    async with api_hub(tmp_path, setup=add_services) as api, aiohttp.ClientSession() as session:
        ws = await connect(api, session)
        reply = await command(
            ws,
            {
                "id": 1,
                "type": "call_service",
                "domain": "obs",
                "service": "set_scene",
                "service_data": {"scene": "BRB"},
            },
        )
        assert reply["success"] and reply["result"]["response"] is None
        context = reply["result"]["context"]
        state = api.hub.states.get("sensor.obs_scene")
        assert state is not None and state.state == "BRB" and state.context is not None
        assert state.context.id == context["id"] and context["user_id"].startswith("token:")
        reply = await command(
            ws,
            {
                "id": 2,
                "type": "call_service",
                "domain": "assets",
                "service": "search",
                "service_data": {"q": "clu"},
                "return_response": True,
            },
        )
        assert reply["result"]["response"] == {"hits": ["clu"]}
        errors = {
            3: ({"domain": "obs", "service": "nope"}, "not_found"),
            4: ({"domain": "obs", "service": "set_scene", "service_data": {"scene": 1}}, "service_validation_error"),
            5: ({"domain": "obs", "service": "strict"}, "service_validation_error"),
            6: ({"domain": "obs"}, "invalid_format"),
            7: ({"domain": "obs", "service": "set_scene", "bogus": 1}, "invalid_format"),
        }
        for msg_id, (fields, code) in errors.items():
            reply = await command(ws, {"id": msg_id, "type": "call_service", **fields})
            assert reply["success"] is False and reply["error"]["code"] == code, reply
            assert reply["error"]["message"]
        seen: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        api.hub.bus.async_listen("deck_pressed", lambda e: seen.done() or seen.set_result(dict(e.data)))
        reply = await command(ws, {"id": 8, "type": "fire_event", "event_type": "deck_pressed", "event_data": {"k": 3}})
        assert reply["success"] and reply["result"]["context"]["id"]
        assert await asyncio.wait_for(seen, 5) == {"k": 3}
        reply = await command(ws, {"id": 9, "type": "fire_event", "event_type": "state_changed"})
        assert reply["error"]["code"] == "invalid_format"
        await ws.close()


async def test_id_reuse_unknown_command_and_malformed_input(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as api, aiohttp.ClientSession() as session:
        ws = await connect(api, session)
        assert (await command(ws, {"id": 10, "type": "ping"}))["type"] == "pong"
        for msg_id in (10, 3):
            await ws.send_json({"id": msg_id, "type": "ping"})
            reply = await ws.receive_json(timeout=5)
            assert reply["success"] is False and reply["error"]["code"] == "id_reuse"
        reply = await command(ws, {"id": 11, "type": "make_coffee"})
        assert reply["error"]["code"] == "unknown_command" and "make_coffee" in reply["error"]["message"]
        for raw in ("{not json", "[1, 2]", '"text"', '{"type": "ping"}', '{"id": "1", "type": "ping"}'):
            await ws.send_str(raw)
            reply = await ws.receive_json(timeout=5)
            assert reply["success"] is False and reply["error"]["code"] == "invalid_format", raw
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "invalid_format"
        # The connection survived all of it.
        assert (await command(ws, {"id": 12, "type": "ping"}))["type"] == "pong"
        await ws.close()


async def test_components_register_commands(tmp_path: Path) -> None:
    def register(hub: Hub) -> None:
        def jobs_list(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
            connection.send_result(msg["id"], {"jobs": [], "limit": msg["limit"]})

        async def jobs_fail(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
            raise RuntimeError("bug in a component")

        async_register_command(hub, "jobs/list", jobs_list, {vol.Optional("limit", default=10): int})
        async_register_command(hub, "jobs/fail", jobs_fail)

    async with api_hub(tmp_path, setup=register) as api, aiohttp.ClientSession() as session:
        ws = await connect(api, session)
        assert (await command(ws, {"id": 1, "type": "jobs/list"}))["result"] == {"jobs": [], "limit": 10}
        assert (await command(ws, {"id": 2, "type": "jobs/list", "limit": "x"}))["error"]["code"] == "invalid_format"
        reply = await command(ws, {"id": 3, "type": "jobs/fail"})
        assert reply["error"]["code"] == "unknown_error" and "RuntimeError" in reply["error"]["message"]
        await ws.close()


async def test_subscribe_entities_compressed_stream(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as api, aiohttp.ClientSession() as session:
        hub = api.hub
        hub.states.async_set("sensor.a", "1", {"x": 1, "y": 2})
        hub.states.async_set("sensor.other", "z")
        ws = await connect(api, session)
        assert (await command(ws, {"id": 1, "type": "subscribe_entities", "entity_ids": ["sensor.a"]}))["success"]
        initial = await ws.receive_json(timeout=5)
        assert list(initial["event"]["a"]) == ["sensor.a"]
        assert initial["event"]["a"]["sensor.a"]["s"] == "1" and initial["event"]["a"]["sensor.a"]["a"] == {
            "x": 1,
            "y": 2,
        }
        hub.states.async_set("sensor.other", "ignored")
        hub.states.async_set("sensor.a", "2", {"x": 5})
        change = await ws.receive_json(timeout=5)
        diff = change["event"]["c"]["sensor.a"]
        assert diff["+"]["s"] == "2" and diff["+"]["a"] == {"x": 5} and diff["-"] == {"a": ["y"]}
        hub.states.async_remove("sensor.a")
        assert (await ws.receive_json(timeout=5))["event"] == {"r": ["sensor.a"]}
        await ws.close()


async def test_coalesced_messages_arrive_as_arrays(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as api, aiohttp.ClientSession() as session:
        ws = await connect(api, session)
        reply = await command(ws, {"id": 1, "type": "supported_features", "features": {"coalesce_messages": 1}})
        assert reply["success"]
        await command(ws, {"id": 2, "type": "subscribe_events", "event_type": "state_changed"})
        for i in range(50):
            api.hub.states.async_set("sensor.n", str(i))
        received: list[dict[str, Any]] = []
        frames = 0
        while len(received) < 50:
            frame = json.loads((await ws.receive(timeout=5)).data)
            frames += 1
            received.extend(frame if isinstance(frame, list) else [frame])
        assert [m["event"]["data"]["new_state"]["state"] for m in received] == [str(i) for i in range(50)]
        assert frames < 50  # batched
        await ws.close()


async def test_slow_client_is_cut_off_with_bounded_queue(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cap = 64
    async with api_hub(tmp_path, {"ws_max_pending": cap}) as api:
        server = api.hub.data[HTTP]
        async with aiohttp.ClientSession() as session:
            slow = await connect(api, session)
            fast = await connect(api, session)
            await command(slow, {"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
            await command(fast, {"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
            await wait_until(lambda: len(server.ws_connections) == 2)
            slow_port = slow.get_extra_info("sockname")[1]
            slow_conn = next(
                c for c in server.ws_connections if c.request.transport.get_extra_info("peername")[1] == slow_port
            )
            fast_received = 0

            async def drain_fast() -> None:
                nonlocal fast_received
                while True:
                    msg = await fast.receive()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        return
                    fast_received += 1

            reader = asyncio.create_task(drain_fast())
            payload = {"blob": "x" * 4096}
            fired = 0
            # The slow client never reads: kernel buffers fill, then its queue, then it is cut off.
            while not slow_conn.closed and fired < 20_000:
                for _ in range(50):
                    api.hub.states.async_set("sensor.flood", str(fired), payload)
                    fired += 1
                await asyncio.sleep(0.001)
            assert slow_conn.closed, "slow client was never cut off"
            assert slow_conn.peak_pending <= cap + 1
            assert slow_conn.pending == 0  # its queue was released
            assert server.ws_cut_off == 1
            assert any("cut off" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
            await wait_until(lambda: len(server.ws_connections) == 1)
            # The fast client kept up and is still connected.
            await wait_until(lambda: fast_received >= fired - cap, timeout=20)
            assert (await command_after_events(fast, reader))["type"] == "pong"
            reader.cancel()


async def command_after_events(ws: aiohttp.ClientWebSocketResponse, reader: asyncio.Task[None]) -> dict[str, Any]:
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await ws.send_json({"id": 99, "type": "ping"})
    while True:
        msg = await ws.receive_json(timeout=10)
        if msg.get("id") == 99:
            return msg


async def test_hub_stop_closes_clients_with_going_away(tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as session:
        async with api_hub(tmp_path) as api:
            ws = await connect(api, session)
            await command(ws, {"id": 1, "type": "subscribe_events"})
            stopping = asyncio.create_task(api.hub.async_stop())
            closing = await ws.receive(timeout=5)
            while closing.type == aiohttp.WSMsgType.TEXT:  # the streamops_stop event comes first
                closing = await ws.receive(timeout=5)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == aiohttp.WSCloseCode.GOING_AWAY
            await asyncio.wait_for(stopping, 10)


async def test_subscriptions_share_one_bus_listener_and_release_it(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as api, aiohttp.ClientSession() as session:
        bus = api.hub.bus
        before = bus.async_listeners().get("obs_marker", 0)
        first, second = await connect(api, session), await connect(api, session)
        for ws in (first, second):
            await command(ws, {"id": 1, "type": "subscribe_events", "event_type": "obs_marker"})
            await command(ws, {"id": 2, "type": "subscribe_events", "event_type": "obs_marker"})
        assert bus.async_listeners()["obs_marker"] == before + 1
        await command(first, {"id": 3, "type": "unsubscribe_events", "subscription": 1})
        bus.async_fire("obs_marker", {"n": 1})
        got_first = await first.receive_json(timeout=5)
        assert got_first["id"] == 2
        got_second = sorted([(await second.receive_json(timeout=5))["id"] for _ in range(2)])
        assert got_second == [1, 2]
        await first.close()  # disconnect releases its subscriptions
        await wait_until(lambda: len(api.hub.data[HTTP].ws_connections) == 1)
        await command(second, {"id": 3, "type": "unsubscribe_events", "subscription": 1})
        await command(second, {"id": 4, "type": "unsubscribe_events", "subscription": 2})
        assert bus.async_listeners().get("obs_marker", 0) == before
        await second.close()


async def test_subscribe_trigger_uses_the_automation_engine(tmp_path: Path) -> None:
    try:
        from streamops.automation import async_subscribe_trigger  # noqa: F401
    except ImportError:
        available = False
    else:
        available = True
    async with api_hub(tmp_path) as api, aiohttp.ClientSession() as session:
        ws = await connect(api, session)
        trigger = {"trigger": "event", "event_type": "obs_marker", "event_data": {"label": "clutch"}}
        reply = await command(ws, {"id": 1, "type": "subscribe_trigger", "trigger": trigger})
        if not available:
            assert reply["error"]["code"] == "not_supported" and "automation" in reply["error"]["message"]
            return
        assert reply["success"], reply
        api.hub.bus.async_fire("obs_marker", {"label": "other"})
        api.hub.bus.async_fire("obs_marker", {"label": "clutch"})
        event = await ws.receive_json(timeout=5)
        assert event["id"] == 1 and event["type"] == "event"
        assert event["event"]["variables"]["trigger"]["event"]["data"] == {"label": "clutch"}
        bad = await command(ws, {"id": 2, "type": "subscribe_trigger", "trigger": {"trigger": "no_such_platform"}})
        assert bad["success"] is False and bad["error"]["code"] == "invalid_format", bad
        assert (await command(ws, {"id": 3, "type": "unsubscribe_events", "subscription": 1}))["success"]
        await ws.close()
