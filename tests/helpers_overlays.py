"""A running hub with the overlays integration and packs written for the test, and a real Chromium.

async with overlay_hub(tmp_path, {"demo": MANIFEST}) as oh:
    url = oh.page_url("demo")
    async with chromium() as browser:
        page, console = await open_page(browser, url)
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrations.overlays import CONFIG_SCHEMA, OVERLAYS, OverlayManager
from integrations.overlays import async_setup as overlays_setup
from streamops.core import Hub
from tests.helpers_api import api_hub
from tests.helpers_browser import chromium  # noqa: F401 - the overlay tests import it from here

DEMO_PACK = Path(__file__).resolve().parents[1] / "config" / "overlays" / "demo_sponsors"
# A small real PNG (made with ffmpeg when the demo pack was built), for an <img> to load.
TINY_PNG = (DEMO_PACK / "images" / "streamops.png").read_bytes()


@dataclass
class OverlayHub:
    hub: Hub
    base_url: str
    token: str

    @property
    def manager(self) -> OverlayManager:
        return self.hub.data[OVERLAYS]

    def key(self, name: str) -> str:
        return self.manager.key(self.manager.overlays[name])

    def page_url(self, name: str, preview: bool = False) -> str:
        return self.manager.url(self.manager.overlays[name], preview=preview)


def write_pack(config_dir: Path, name: str, manifest: str, files: Mapping[str, bytes] | None = None) -> Path:
    folder = config_dir / "overlays" / name
    folder.mkdir(parents=True, exist_ok=True)
    filename = "manifest.json" if manifest.lstrip().startswith("{") else "manifest.yaml"
    (folder / filename).write_text(manifest, encoding="utf-8")
    for relative, data in (files or {}).items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


@asynccontextmanager
async def overlay_hub(
    tmp_path: Path,
    packs: Mapping[str, str] | None = None,
    files: Mapping[str, Mapping[str, bytes]] | None = None,
    *,
    demo: bool = False,
    config: dict[str, Any] | None = None,
) -> AsyncIterator[OverlayHub]:
    """Recorder + http (free port) + overlays, with the given packs in <config>/overlays/."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    for name, manifest in (packs or {}).items():
        write_pack(config_dir, name, manifest, (files or {}).get(name))
    if demo:
        shutil.copytree(DEMO_PACK, config_dir / "overlays" / "demo_sponsors")

    async def setup(hub: Hub) -> None:
        assert await overlays_setup(hub, CONFIG_SCHEMA(config or {})), "overlays setup failed"

    async with api_hub(tmp_path, setup=setup) as (hub, base_url, token):
        yield OverlayHub(hub, base_url, token)


@dataclass
class Console:
    """Everything the page said on its console, and uncaught errors."""

    messages: list[tuple[str, str]]

    @property
    def errors(self) -> list[str]:
        return [text for kind, text in self.messages if kind in ("error", "pageerror")]


async def open_page(browser: Any, url: str, *, obs: bool = False, viewport: tuple[int, int] = (1920, 1080)) -> Any:
    """A new page at `url` (with `window.obsstudio` defined when `obs`), and its console log."""
    context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = await context.new_page()
    console = Console([])
    page.on("console", lambda msg: console.messages.append((msg.type, msg.text)))
    page.on("pageerror", lambda err: console.messages.append(("pageerror", str(err))))
    if obs:
        # What OBS's browser source provides (the page only checks that it exists).
        await page.add_init_script("window.obsstudio = { pluginVersion: '2.24.0' };")
    await page.goto(url)
    return page, console


async def obs_event(page: Any, name: str, **detail: bool) -> None:
    """Dispatch an OBS browser-source event the way OBS does (a CustomEvent on window)."""
    await page.evaluate(
        "([name, detail]) => window.dispatchEvent(new CustomEvent(name, {detail}))",
        [name, detail],
    )
