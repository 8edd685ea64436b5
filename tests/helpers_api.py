"""A real hub with the recorder and the HTTP API on a free loopback port, for any test to reuse.

    async with api_hub(tmp_path) as (hub, base_url, token):
        async with aiohttp.ClientSession(headers=bearer(token)) as session:
            ...

Routes and WebSocket commands must exist before the server starts: pass `setup=` (called with the
hub after http is set up, before start) to set up your own component first.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

from streamops.api import CONFIG_SCHEMA as HTTP_SCHEMA
from streamops.api import HTTP
from streamops.api import async_setup as http_setup
from streamops.api.auth import KIND_OWNER, create_token
from streamops.core import Hub
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import DATABASE
from streamops.recorder import async_setup as recorder_setup


class ApiHub(NamedTuple):
    hub: Hub
    base_url: str
    token: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/api/websocket"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def api_hub(
    tmp_path: Path,
    http_config: dict[str, Any] | None = None,
    *,
    setup: Callable[[Hub], Awaitable[Any] | Any] | None = None,
    start: bool = True,
) -> AsyncIterator[ApiHub]:
    """Hub on tmp dirs + recorder (real SQLite) + http on 127.0.0.1:<free port> + an owner token."""
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir(exist_ok=True)
    data_dir.mkdir(exist_ok=True)
    hub = Hub(config_dir, data_dir)
    try:
        assert await recorder_setup(hub, RECORDER_SCHEMA({})), "recorder setup failed"
        db = hub.data[DATABASE]
        token = await create_token(db, "test owner", KIND_OWNER)
        config = HTTP_SCHEMA({"server_port": 0, **(http_config or {})})
        assert await http_setup(hub, config), "http setup failed"
        if setup is not None:
            result = setup(hub)
            if inspect.isawaitable(result):
                await result
        if start:
            await hub.async_start()
        yield ApiHub(hub, hub.data[HTTP].url, token)
    finally:
        await hub.async_stop()
