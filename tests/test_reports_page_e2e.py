"""The Reports page in real headless Chromium: "Generate now" calls reports.emit and the charts are
drawn (inline SVG) from the stored report; a report emitted elsewhere appears without a reload."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from streamops.recorder import DATABASE
from tests.helpers_browser import chromium, login, new_page
from tests.helpers_dashboard_assets import assets_hub

pytestmark = pytest.mark.timeout(120)

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots/ when UPDATE_SCREENSHOTS=1 (as the shell's e2e test does), else the tmp folder."""
    out = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / "shots"
    out.mkdir(parents=True, exist_ok=True)
    return out


H = 3600.0


_STATE_IDS = iter(range(10**9, 2 * 10**9))


async def add_state(db, entity_id: str, state: str, attributes: str, at: float) -> None:
    """A history row written behind the running recorder's back: ids far above the ones it hands out."""
    await db.execute(
        "INSERT INTO so_states (state_id, entity_id, state, attributes, last_changed, last_updated)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (next(_STATE_IDS), entity_id, state, attributes, at, at),
    )


async def seed_week(hub) -> None:
    """A plausible week: sessions of three games, scene changes, two drives filling up, a backlog."""
    db = hub.data[DATABASE]
    now = time.time()
    start = now - 7 * 86400
    games = ["Elden Ring", "Celeste", "Elden Ring", "Hades", "Elden Ring", "Celeste"]
    for day, game in enumerate(games):
        began = start + day * 86400 + 19 * H
        length = (2 + day % 3) * H
        await db.execute(
            "INSERT INTO so_sessions (started, ended, game, scene, markers) VALUES (?, ?, ?, ?, '[]')",
            (began, began + length, game, "Gameplay"),
        )
        for offset, scene in ((0, "Starting Soon"), (0.2 * H, "Gameplay"), (length - 0.4 * H, "Just Chatting")):
            await add_state(db, "sensor.obs_scene", scene, "{}", began + offset)
    attrs = json.dumps({"unit_of_measurement": "GB"})
    for step in range(0, 7 * 24, 6):
        t = start + step * H + 60
        for entity, base, rate in (("sensor.drive_ssd_free", 900.0, 1.9), ("sensor.drive_archive_free", 3600.0, 0.8)):
            await add_state(db, entity, str(round(base - rate * step, 1)), attrs, t)
    for i in range(40):
        created = start + i * 4 * H
        started = created + (2 + i % 5) * H if i < 30 else None
        finished = started + 0.5 * H if started else None
        # Waiting jobs are paused by the user, so the running hub's queue leaves them waiting.
        await db.execute(
            "INSERT INTO so_jobs (type, status, user_paused, created, started, finished, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("media.proxy", "done" if started else "paused", 0 if started else 1, created, started, finished, created),
        )


async def test_reports_page_generates_and_charts(tmp_path: Path) -> None:
    async with assets_hub(tmp_path) as ah:
        await seed_week(ah.hub)
        async with chromium() as browser:
            page, console = await new_page(browser)
            await login(page, ah.base_url, ah.token, "reports")
            await page.wait_for_selector("so-page-reports .empty", timeout=10_000)
            await page.click("so-page-reports button.primary")
            await page.wait_for_selector("so-page-reports[data-report] .kpis", state="attached", timeout=10_000)
            kpis = await page.locator("so-page-reports .kpi").all_text_contents()
            assert kpis[0].startswith("18.0 h"), kpis  # 2+3+4+2+3+4 hours in 6 sessions
            assert "+9" in kpis[2] and "30jobs done, 0 failed" in kpis[3], kpis
            charts = page.locator("so-page-reports svg.report-chart")
            assert await charts.count() == 5
            assert await page.locator("so-page-reports svg.report-chart rect.bar").count() >= 7 + 3 + 3
            assert await page.locator("so-page-reports svg.report-chart polyline").count() == 3  # 2 drives + backlog
            top_games = page.locator("so-page-reports svg[aria-label='Top games by hours recorded'] text.label")
            games = await top_games.all_text_contents()
            assert games[0] == "Elden Ring", games

            # A report emitted by an automation (or another tab) shows up live in the picker.
            before = await page.locator("so-page-reports select[aria-label=Report] option").count()
            await ah.hub.services.async_call("reports", "emit", {"period": "day"}, return_response=True)
            await page.wait_for_function(
                "(n) => document.querySelectorAll('so-page-reports select[aria-label=Report] option').length > n",
                arg=before,
                timeout=5000,
            )
            await page.select_option("so-page-reports select[aria-label=Report]", index=1)
            await page.wait_for_selector("so-page-reports svg.report-chart", timeout=5000)
            await page.screenshot(path=str(screenshot_dir(tmp_path) / "reports.png"))
            assert console.errors == [], console.errors
