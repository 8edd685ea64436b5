"""Clip Assist in real headless Chromium: play a real recording over the Range route, mark in/out
with `i`/`o`, export a lossless clip through media.clip and watch its job finish; scene cuts and OBS
markers appear on the timeline; a batch of two ranges becomes two clip jobs."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from streamops.recorder import DATABASE
from tests.helpers_browser import chromium, login, new_page
from tests.helpers_dashboard_assets import assets_hub, ffprobe, make_cut_recording

pytestmark = pytest.mark.timeout(180)

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots/ when UPDATE_SCREENSHOTS=1 (as the shell's e2e test does), else the tmp folder."""
    out = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / "shots"
    out.mkdir(parents=True, exist_ok=True)
    return out


async def seek(page, seconds: float) -> None:
    """Seek the player and wait until the browser has decoded the new position."""
    await page.evaluate(
        """(t) => new Promise((resolve) => {
            const v = document.querySelector('so-page-clip video');
            v.addEventListener('seeked', () => resolve(), {once: true});
            v.currentTime = t;
        })""",
        seconds,
    )


async def test_in_out_hotkeys_export_a_lossless_clip(tmp_path: Path) -> None:
    async with assets_hub(tmp_path) as ah:
        source = await asyncio.to_thread(make_cut_recording, ah.drive / "speedrun_elden_ring.mp4")
        asset = await ah.index(source)
        await ah.call("media", "waveform", {"input": str(source), "buckets": 400})
        # An OBS session that recorded this file, with two markers.
        obs_file = str(source.with_suffix(".mkv"))
        markers = [
            {"offset": 2.5, "label": "boss down", "time": "", "chapter": False, "file": obs_file},
            {"offset": 7.0, "label": "clip it", "time": "", "chapter": False, "file": obs_file},
        ]
        await ah.hub.data[DATABASE].execute(
            "INSERT INTO so_sessions (started, ended, output_path, game, markers) VALUES (?, ?, ?, ?, ?)",
            (time.time() - 60, time.time() - 50, str(source.with_suffix(".mkv")), "Elden Ring", json.dumps(markers)),
        )

        async with chromium() as browser:
            page, console = await new_page(browser)
            await login(page, ah.base_url, ah.token, f"clip?asset={asset['id']}")
            await page.wait_for_selector("so-page-clip[data-ready=true]", state="attached", timeout=10_000)
            await page.wait_for_function(
                "() => document.querySelector('so-page-clip video').readyState >= 1", timeout=10_000
            )
            status = await page.text_content("so-page-clip .clip-legend[aria-live]")
            assert "2 OBS markers" in status, status

            # Scene cuts: detected by media.scenes, cached as a derivative, drawn on the timeline.
            await page.click("text=Detect scene cuts")
            await page.wait_for_function(
                "() => /\\d+ scene cuts/.test("
                "document.querySelector('so-page-clip .clip-legend[aria-live]').textContent)",
                timeout=30_000,
            )
            cuts = await page.evaluate("() => document.querySelector('so-page-clip').timeline.cuts")
            assert [round(c) for c in cuts] == [2, 4, 6, 8], cuts

            # i / o at 2 s and 6 s (keyframes every second, so the lossless cut is exactly that).
            await page.click("so-page-clip h1")
            await seek(page, 2.0)
            await page.keyboard.press("i")
            await seek(page, 6.0)
            await page.keyboard.press("o")
            assert await page.get_attribute("#clip-in", "data-seconds") == "2"
            assert await page.get_attribute("#clip-out", "data-seconds") == "6"
            assert await page.text_content("#clip-in") == "0:02.0"

            await page.keyboard.press("Enter")
            job = page.locator("so-page-clip .clip-job").first
            await job.wait_for(timeout=5000)
            await page.wait_for_selector("so-page-clip .clip-job:first-child[data-status=done]", timeout=30_000)
            text = await job.locator(".out").text_content()
            output = Path(text.split(" (")[0])
            assert output.parent == ah.drive / "Clips", text
            probe = await asyncio.to_thread(ffprobe, output)
            assert float(probe["format"]["duration"]) == pytest.approx(4.0, abs=0.1)
            assert {s["codec_name"] for s in probe["streams"]} == {"h264", "aac"}
            assert await job.locator(".bar > span").evaluate("(e) => e.style.width") == "100%"

            # Batch: two ranges become two clip jobs.
            for a, b in ((1.0, 3.0), (5.0, 8.0)):
                await seek(page, a)
                await page.keyboard.press("i")
                await seek(page, b)
                await page.keyboard.press("o")
                await page.keyboard.press("a")
            assert await page.locator("so-page-clip .clip-list[aria-label='Batch ranges'] li").count() == 2
            await page.click("text=Export batch (2)")
            await page.wait_for_function(
                "() => document.querySelectorAll('so-page-clip .clip-job[data-status=done]').length === 4",
                timeout=30_000,
            )
            clips = sorted(p.name for p in (ah.drive / "Clips").iterdir())
            assert len(clips) == 3, clips

            await seek(page, 3.0)
            await page.keyboard.press("i")
            await seek(page, 7.0)
            await page.keyboard.press("o")
            await page.screenshot(path=str(screenshot_dir(tmp_path) / "clip.png"))
            assert console.errors == [], console.errors
