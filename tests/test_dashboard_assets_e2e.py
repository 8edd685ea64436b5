"""The Assets page in real headless Chromium against a running hub with real indexed media.

ffmpeg makes the recordings, assets.index indexes them, the media services make the poster, sprite
sheet, hover clip and waveform; the page is the real shell at `/#/assets`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest

from tests.helpers_api import bearer
from tests.helpers_browser import chromium, login, new_page
from tests.helpers_dashboard_assets import assets_hub, make_recording

pytestmark = pytest.mark.timeout(180)

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots/ when UPDATE_SCREENSHOTS=1 (as the shell's e2e test does), else the tmp folder."""
    out = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / "shots"
    out.mkdir(parents=True, exist_ok=True)
    return out


TILE_NAMES = "() => [...document.querySelectorAll('so-page-assets .asset-tile .asset-name')].map(e => e.textContent)"


async def test_search_scrub_favourite_and_media_routes(tmp_path: Path) -> None:
    async with assets_hub(tmp_path) as ah:
        paths = []
        for name in ("speedrun_elden_ring", "celeste_any_percent", "tunic_boss_rush", "hades_heat_32"):
            paths.append(await asyncio.to_thread(make_recording, ah.drive / f"{name}.mp4"))
        await ah.index(ah.drive)
        await asyncio.gather(*(ah.previews(p) for p in paths[:2]))

        async with chromium() as browser:
            page, console = await new_page(browser)
            await login(page, ah.base_url, ah.token, "assets")
            await page.wait_for_selector("so-page-assets .asset-tile .asset-name", timeout=10_000)
            assert sorted(await page.evaluate(TILE_NAMES)) == sorted(f"{p.name}" for p in paths)

            # Three letters find a file, as you type.
            await page.type("#asset-search", "eld", delay=40)
            await page.wait_for_function(
                f"() => {{ const n = ({TILE_NAMES})(); return n.length === 1 && n[0] === 'speedrun_elden_ring.mp4'; }}",
                timeout=5000,
            )
            assert "1 asset" in await page.text_content("so-page-assets .assets-count")

            # Hover-scrub: the sprite cell (background position) follows the mouse.
            thumb = page.locator("so-page-assets .asset-tile .asset-thumb").first
            await thumb.wait_for()
            await page.wait_for_function(
                "() => document.querySelector('so-page-assets .asset-thumb img')?.complete", timeout=5000
            )
            box = await thumb.bounding_box()
            assert box is not None
            frames = []
            for fraction in (0.1, 0.5, 0.9):
                await page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
                await page.wait_for_function(
                    "(want) => { const t = document.querySelector('so-page-assets .asset-thumb');"
                    " return t.dataset.frame !== undefined && t.dataset.frame !== want; }",
                    arg=frames[-1][0] if frames else "",
                    timeout=5000,
                )
                frames.append(await thumb.evaluate("(t) => [t.dataset.frame, getComputedStyle(t).backgroundPosition]"))
            assert len({f[0] for f in frames}) == 3, frames
            assert len({f[1] for f in frames}) == 3, frames
            assert int(frames[0][0]) < int(frames[1][0]) < int(frames[2][0])
            await page.mouse.move(0, 0)

            # Favourite: the star tags the asset 'favourite', and the favourites filter finds it.
            await page.click("so-page-assets .asset-tile .fav")
            await page.wait_for_selector("so-page-assets .asset-tile .fav[aria-pressed=true]", timeout=5000)
            asset = await ah.hub.services.async_call("assets", "search", {"q": "elden"}, return_response=True)
            assert asset["items"][0]["tags"] == ["favourite"]
            await page.fill("#asset-search", "")
            await page.check("so-page-assets input[type=checkbox]")
            await page.wait_for_function(
                f"() => {{ const n = ({TILE_NAMES})(); return n.length === 1 && n[0] === 'speedrun_elden_ring.mp4'; }}",
                timeout=5000,
            )
            await page.uncheck("so-page-assets input[type=checkbox]")
            await page.wait_for_function(f"() => ({TILE_NAMES})().length === 4", timeout=5000)
            # The dashboard's `assets` card: the newest recordings, and a clear error for a bad config.
            await page.evaluate(
                """async () => {
                  const cards = await import('/cards/index.js');
                  const good = await cards.createCard({type: 'assets', limit: 2}, window.hub);
                  const bad = await cards.createCard({type: 'assets', limit: 0}, window.hub);
                  good.id = 'card-ok'; bad.id = 'card-bad';
                  document.body.append(good, bad);
                }"""
            )
            await page.wait_for_function("() => document.querySelectorAll('#card-ok .asset-tile').length === 2")
            assert "limit" in await page.text_content("#card-bad")
            await page.evaluate(
                "() => { document.querySelector('#card-ok').remove(); document.querySelector('#card-bad').remove(); }"
            )

            await page.click("so-page-assets .asset-tile")
            await page.wait_for_selector("so-page-assets .asset-detail h2", timeout=5000)
            await page.mouse.move(0, 0)
            await page.screenshot(path=str(screenshot_dir(tmp_path) / "assets.png"))
            assert console.errors == [], console.errors

        # The media routes: Range on the file, derivatives, auth, no path from outside the drives.
        found = await ah.hub.services.async_call("assets", "search", {"q": "celeste"}, return_response=True)
        asset_id = found["items"][0]["id"]
        async with aiohttp.ClientSession(headers=bearer(ah.token)) as session:
            async with session.get(f"{ah.base_url}/api/assets/{asset_id}/file", headers={"Range": "bytes=0-99"}) as r:
                assert r.status == 206 and len(await r.read()) == 100
                assert r.headers["Content-Range"].startswith("bytes 0-99/")
            for kind, ctype in (("thumb", "image/jpeg"), ("sprite", "image/jpeg"), ("hover", "video/mp4")):
                async with session.get(f"{ah.base_url}/api/assets/{asset_id}/derivatives/{kind}") as r:
                    assert r.status == 200, kind
                    assert r.headers["Content-Type"].startswith(ctype)
            async with session.get(f"{ah.base_url}/api/assets/{asset_id}/derivatives/sprite_index") as r:
                index = await r.json()
                assert index["count"] == len(index["cells"]) >= 7
            async with session.get(f"{ah.base_url}/api/assets/derivatives?ids={asset_id},999") as r:
                kinds = await r.json()
                assert {"thumb", "sprite", "sprite_index", "hover", "waveform"} <= set(kinds[str(asset_id)])
                assert kinds["999"] == []
            async with session.get(f"{ah.base_url}/api/assets/{asset_id}/derivatives/proxy") as r:
                assert r.status == 404 and "proxy" in (await r.json())["message"]
            async with session.get(f"{ah.base_url}/api/assets/{asset_id}/derivatives/passwd") as r:
                assert r.status == 404
            # A row pointing outside the drives (a tampered database) is refused, not served.
            from streamops.recorder import DATABASE

            await ah.hub.data[DATABASE].execute("UPDATE so_assets SET path = '/etc/hostname' WHERE id = ?", (asset_id,))
            async with session.get(f"{ah.base_url}/api/assets/{asset_id}/file") as r:
                assert r.status == 403 and "outside" in (await r.json())["message"]
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(f"{ah.base_url}/api/assets/{asset_id}/derivatives/thumb") as r:
                assert r.status == 401
