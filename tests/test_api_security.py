"""Host/Origin/CORS policy and JSON errors, driven through the real server with a real client."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from streamops.api import CONFIG_SCHEMA as HTTP_SCHEMA
from streamops.api import HTTP
from streamops.api import async_setup as http_setup
from streamops.api.helpers import MAX_JSON_BYTES
from streamops.core import Hub
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import async_setup as recorder_setup
from tests.helpers_api import api_hub, bearer

EVIL = "http://evil.example"


async def test_foreign_host_header_is_refused(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, token), aiohttp.ClientSession(headers=bearer(token)) as session:
        port = url.rsplit(":", 1)[1]
        for host in ("evil.example", f"evil.example:{port}", f"rebind.attacker.test:{port}", f"localhost:{port}x"):
            async with session.get(f"{url}/api/states", headers={"Host": host}) as resp:
                assert resp.status == 403, host
                body = await resp.json()
                assert body["code"] == "bad_host" and "trusted_hosts" in body["message"]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost", "localhost:8123", f"[::1]:{port}"):
            async with session.get(f"{url}/api/states", headers={"Host": host}) as resp:
                assert resp.status == 200, host
        # Probes with the container's address as Host still see health.
        async with session.get(f"{url}/health/live", headers={"Host": "10.1.2.3:7767"}) as resp:
            assert resp.status == 200


async def test_trusted_hosts_allow_remote_names(tmp_path: Path) -> None:
    async with (
        api_hub(tmp_path, {"trusted_hosts": ["streamops.lan"]}) as (_hub, url, token),
        aiohttp.ClientSession(headers=bearer(token)) as session,
    ):
        async with session.get(f"{url}/api/", headers={"Host": "streamops.lan:7767"}) as resp:
            assert resp.status == 200
        async with session.get(f"{url}/api/", headers={"Host": "other.lan"}) as resp:
            assert resp.status == 403


async def test_foreign_origin_post_is_refused(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, url, token), aiohttp.ClientSession(headers=bearer(token)) as session:
        for origin in (EVIL, "null", "http://localhost:3000", url.replace("127.0.0.1", "127.0.0.2")):
            async with session.post(
                f"{url}/api/states/sensor.x", json={"state": "1"}, headers={"Origin": origin}
            ) as resp:
                assert resp.status == 403, origin
                body = await resp.json()
                assert body["code"] == "bad_origin"
        assert hub.states.get("sensor.x") is None
        async with session.post(f"{url}/api/states/sensor.x", json={"state": "1"}, headers={"Origin": url}) as resp:
            assert resp.status == 201
        # GET from a foreign origin is not state-changing; no CORS header means the page cannot read it.
        async with session.get(f"{url}/api/states", headers={"Origin": EVIL}) as resp:
            assert resp.status == 200
            assert "Access-Control-Allow-Origin" not in resp.headers


async def test_websocket_upgrade_with_foreign_origin_is_refused(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, _token), aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(f"{url}/api/websocket", origin=EVIL)
        assert err.value.status == 403
        async with session.ws_connect(f"{url}/api/websocket", origin=url) as ws:
            assert (await ws.receive_json())["type"] == "auth_required"


async def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    allowed = "http://dashboard.lan:8080"
    async with (
        api_hub(tmp_path, {"cors_allowed_origins": [allowed]}) as (_hub, url, token),
        aiohttp.ClientSession() as session,
    ):
        preflight = {"Origin": allowed, "Access-Control-Request-Method": "POST"}
        async with session.options(f"{url}/api/states/sensor.y", headers=preflight) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == allowed
            assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
        async with session.options(f"{url}/api/states/sensor.y", headers={**preflight, "Origin": EVIL}) as resp:
            assert resp.status == 403
            assert "Access-Control-Allow-Origin" not in resp.headers
        async with session.post(
            f"{url}/api/states/sensor.y", json={"state": "2"}, headers={**bearer(token), "Origin": allowed}
        ) as resp:
            assert resp.status == 201
            assert resp.headers["Access-Control-Allow-Origin"] == allowed
        with pytest.raises(Exception, match="origin"):
            HTTP_SCHEMA({"cors_allowed_origins": ["http://x.lan/path"]})


async def test_malformed_requests_get_json_errors_never_500(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, token), aiohttp.ClientSession(headers=bearer(token)) as session:
        cases = [
            ("POST", "/api/states/sensor.a", b"{not json", 400),
            ("POST", "/api/states/sensor.a", b"[1, 2]", 400),
            ("POST", "/api/states/sensor.a", b'{"attributes": {}}', 400),
            ("POST", "/api/states/sensor.a", b'{"state": {"x": 1}}', 400),
            ("POST", "/api/states/sensor.a", b'{"state": "on", "attributes": [1]}', 400),
            ("POST", "/api/states/sensor.a", b'{"state": "' + b"x" * 300 + b'"}', 400),
            ("POST", "/api/states/NotAnEntity", b'{"state": "on"}', 400),
            ("GET", "/api/states/bad id", b"", 400),
            ("GET", "/api/states/sensor.missing", b"", 404),
            ("DELETE", "/api/states/sensor.missing", b"", 404),
            ("POST", "/api/services/nope/nothing", b"{}", 400),
            ("POST", "/api/services/nope/nothing", b"\xff\xfe", 400),
            ("POST", "/api/events/my_event", b'"text"', 400),
            ("POST", "/api/events/state_changed", b"{}", 400),
            ("GET", "/api/history/period/yesterday?filter_entity_id=sensor.a", b"", 400),
            ("GET", "/api/history/period", b"", 400),
            ("GET", "/api/does-not-exist", b"", 404),
            ("PUT", "/api/states", b"{}", 405),
            ("GET", "/nothing-here", b"", 404),
        ]
        for method, path, body, status in cases:
            async with session.request(
                method, f"{url}{path}", data=body, headers={"Content-Type": "application/json"}
            ) as resp:
                assert resp.status == status, (method, path, resp.status, await resp.text())
                assert resp.content_type == "application/json", (method, path)
                payload = await resp.json()
                assert isinstance(payload["message"], str) and payload["message"], (method, path)


async def test_huge_body_is_413_json(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, token), aiohttp.ClientSession(headers=bearer(token)) as session:
        big = b'{"state": "on", "attributes": {"x": "' + b"a" * (MAX_JSON_BYTES + 10) + b'"}}'
        async with session.post(f"{url}/api/states/sensor.big", data=big) as resp:
            assert resp.status == 413
            assert "larger than" in (await resp.json())["message"]

        async def chunks():  # no Content-Length: the limit is enforced while reading
            for _ in range(20):
                yield b"a" * 100_000

        async with session.post(f"{url}/api/services/x/y", data=chunks()) as resp:
            assert resp.status == 413
            assert resp.content_type == "application/json"


async def test_unhandled_exception_becomes_logged_json_500(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    def add_route(hub: Hub) -> None:
        hub.data[HTTP].app.router.add_get("/api/broken", broken)

    async with (
        api_hub(tmp_path, setup=add_route) as (_hub, url, token),
        aiohttp.ClientSession(headers=bearer(token)) as session,
    ):
        async with session.get(f"{url}/api/broken") as resp:
            assert resp.status == 500
            body = await resp.json()
            assert body["code"] == "internal_error" and "RuntimeError" in body["message"]
            assert "boom" not in body["message"]
        assert any("/api/broken" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


async def test_routes_added_by_components_are_protected(tmp_path: Path) -> None:
    async def jobs(request: web.Request) -> web.Response:
        from streamops.api import request_auth

        auth = request_auth(request)
        assert auth is not None
        return web.json_response({"caller": auth.name})

    def add_route(hub: Hub) -> None:
        hub.data[HTTP].app.router.add_get("/api/jobs_demo", jobs)

    async with api_hub(tmp_path, setup=add_route) as (_hub, url, token), aiohttp.ClientSession() as session:
        async with session.get(f"{url}/api/jobs_demo") as resp:
            assert resp.status == 401
        async with session.get(f"{url}/api/jobs_demo", headers=bearer(token)) as resp:
            assert await resp.json() == {"caller": "test owner"}


async def test_port_in_use_fails_setup_with_clear_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    hub = Hub(tmp_path, tmp_path / "data")
    try:
        assert await recorder_setup(hub, RECORDER_SCHEMA({}))
        assert not await http_setup(hub, HTTP_SCHEMA({"server_port": port}))
        assert HTTP not in hub.data
        message = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
        assert f"127.0.0.1:{port}" in message and "already in use" in message and "server_port" in message
    finally:
        blocker.close()
        await hub.async_stop()
