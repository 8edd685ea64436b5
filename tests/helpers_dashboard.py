"""A whole hub (bootstrap, real configuration.yaml) on a free port, for dashboard tests in Chromium.

    async with dashboard_hub(tmp_path) as dh:            # config/ and data/ under tmp_path
        page, console = await new_page(browser)
        await login(page, dh.base_url, dh.token)

`dashboard_hub` can be entered again with the same `tmp_path` (a restart: same config, same
database; the token is created only once).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from streamops.api import HTTP
from streamops.api.auth import KIND_OWNER, create_token
from streamops.bootstrap import async_setup_hub
from streamops.core import Hub
from streamops.recorder import DATABASE
from tests.mqtt_broker import free_port  # noqa: F401 - the dashboard tests import it from here

SHIPPED_OVERLAYS = Path(__file__).resolve().parents[1] / "config" / "overlays"

CONFIG = """
http:
  server_host: 127.0.0.1
  server_port: {port}
drives:
  recordings:
    path: {recordings}
    watch: ["**/*.mkv"]
    min_quiet_seconds: 1
  editing:
    path: {editing}
    watch: []
jobs: {jobs}
automation: !include automations.yaml
frontend: {{}}
overlays:
  directory: overlays
"""

AUTOMATIONS = """
- id: thumb_on_close
  alias: Thumbnail finished recordings
  triggers:
    - trigger: file_closed
      drive: recordings
  actions:
    - action: media.thumbnail
      data:
        input: "{{ trigger.path }}"
"""


@dataclass
class DashboardHub:
    hub: Hub
    base_url: str
    token: str
    root: Path

    @property
    def recordings(self) -> Path:
        return self.root / "recordings"


@asynccontextmanager
async def dashboard_hub(
    root: Path,
    *,
    port: int = 0,
    jobs: str = "{}",
    environ: Mapping[str, str] | None = None,
    automations: str = AUTOMATIONS,
) -> AsyncIterator[DashboardHub]:
    config_dir, data_dir = root / "config", root / "data"
    token_file = root / "token.txt"
    for folder in (config_dir, data_dir, root / "recordings", root / "editing"):
        folder.mkdir(parents=True, exist_ok=True)
    config = config_dir / "configuration.yaml"
    if not config.exists():
        config.write_text(CONFIG.format(recordings=root / "recordings", editing=root / "editing", jobs=jobs, port=port))
        (config_dir / "automations.yaml").write_text(automations)
        shutil.copytree(SHIPPED_OVERLAYS, config_dir / "overlays")
    hub = await async_setup_hub(config_dir, data_dir, environ or {}, start=False)
    try:
        assert not hub.config.errors, [str(e) for e in hub.config.errors]
        if token_file.exists():
            token = token_file.read_text()
        else:
            token = await create_token(hub.data[DATABASE], "test owner", KIND_OWNER)
            token_file.write_text(token)
        await hub.async_start()
        yield DashboardHub(hub, hub.data[HTTP].url, token, root)
    finally:
        await hub.async_stop()
