"""Studio reports against a real SQLite database with sessions, state history and job journal rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamops.core import Event, Hub, ServiceError
from streamops.recorder import DATABASE
from streamops.reports import CONFIG_SCHEMA, EVENT_REPORT_EMITTED, REPORTS, async_setup
from streamops.reports.compute import last_full_week, period_ending, zone
from tests.helpers_api import api_hub, bearer

# Monday 2024-05-13 00:00 UTC: the week reported is Mon 6 May → Mon 13 May.
END = datetime(2024, 5, 13, tzinfo=UTC).timestamp()
START = END - 7 * 86400
H = 3600.0


def day(n: int, hour: float = 0.0) -> float:
    """Seconds since the epoch of day n of the week (0 = Monday 6 May), at `hour` UTC."""
    return START + n * 86400 + hour * H


async def add_session(hub: Hub, started: float, ended: float | None, game: str | None, scene: str = "Main") -> None:
    await hub.data[DATABASE].execute(
        "INSERT INTO so_sessions (started, ended, game, scene) VALUES (?, ?, ?, ?)", (started, ended, game, scene)
    )


_STATE_IDS = iter(range(10**9, 2 * 10**9))


async def add_state(hub: Hub, entity_id: str, state: str, at: float, attributes: dict[str, Any] | None = None) -> None:
    """A history row (ids far above the ones the running recorder hands out, so they never collide)."""
    await hub.data[DATABASE].execute(
        "INSERT INTO so_states (state_id, entity_id, state, attributes, last_changed, last_updated)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (next(_STATE_IDS), entity_id, state, json.dumps(attributes or {}), at, at),
    )


async def add_job(hub: Hub, created: float, started: float | None, finished: float | None, status: str) -> None:
    await hub.data[DATABASE].execute(
        "INSERT INTO so_jobs (type, status, created, started, finished, updated) VALUES (?, ?, ?, ?, ?, ?)",
        ("media.proxy", status, created, started, finished, created),
    )


@pytest.fixture
async def reports_hub(db_hub: Hub) -> Hub:
    assert await async_setup(db_hub, CONFIG_SCHEMA({"weekly": False}))
    return db_hub


async def emit(hub: Hub, **data: Any) -> dict[str, Any]:
    return await hub.services.async_call("reports", "emit", data, return_response=True)


async def test_hours_recorded_clip_sessions_to_the_period(reports_hub: Hub) -> None:
    hub = reports_hub
    await add_session(hub, day(0, 20), day(0, 22), "Elden Ring")  # 2 h on Monday
    await add_session(hub, START - 1 * H, START + 1 * H, "Elden Ring")  # 1 h of it inside
    await add_session(hub, day(3, 23), day(4, 1), "Celeste")  # crosses midnight: 1 h + 1 h
    await add_session(hub, START - 5 * H, START - 2 * H, "Outside")  # before the period
    await add_session(hub, END + H, END + 2 * H, "After")  # after it
    report = await emit(hub, period="week", end=END)
    rec = report["data"]["recording"]
    assert rec["hours"] == pytest.approx(5.0)
    assert rec["sessions"] == 3
    assert rec["longest_hours"] == pytest.approx(2.0)
    by_day = {d["day"]: d["hours"] for d in rec["by_day"]}
    assert len(by_day) == 7
    assert by_day["2024-05-06"] == pytest.approx(3.0)
    assert by_day["2024-05-09"] == pytest.approx(1.0)
    assert by_day["2024-05-10"] == pytest.approx(1.0)
    assert by_day["2024-05-07"] == 0
    games = report["data"]["top_games"]
    assert [g["name"] for g in games] == ["Elden Ring", "Celeste"]
    assert games[0]["hours"] == pytest.approx(3.0) and games[0]["sessions"] == 2


async def test_running_session_counts_up_to_now(reports_hub: Hub) -> None:
    hub = reports_hub
    store = hub.data[REPORTS]
    now = day(2, 12)
    await add_session(hub, now - 1.5 * H, None, "Live")
    period = period_ending("week", END, zone("UTC"))
    report = await store.emit_period(period, store=False, now=now)
    assert report["id"] is None
    assert report["data"]["recording"]["hours"] == pytest.approx(1.5)


async def test_top_scenes_count_time_on_scene_while_recording(reports_hub: Hub) -> None:
    hub = reports_hub
    await add_state(hub, "sensor.obs_scene", "Starting", START - H)  # in force when the period starts
    await add_state(hub, "sensor.obs_scene", "Gameplay", day(1, 10.5))
    await add_state(hub, "sensor.obs_scene", "Just Chatting", day(1, 12))
    await add_state(hub, "sensor.obs_scene", "unavailable", day(1, 12.25))
    await add_session(hub, day(1, 10), day(1, 12.5), "Game")  # Starting .5, Gameplay 1.5, Chatting .25
    await add_state(hub, "sensor.obs_scene", "Gameplay", day(2, 0))  # not recording: not counted
    report = await emit(hub, end=END)
    scenes = {s["name"]: s["hours"] for s in report["data"]["top_scenes"]}
    assert scenes == pytest.approx({"Gameplay": 1.5, "Starting": 0.5, "Just Chatting": 0.25})
    assert report["data"]["top_scenes"][0]["name"] == "Gameplay"


async def test_top_scenes_fall_back_to_the_session_scene(reports_hub: Hub) -> None:
    hub = reports_hub
    await add_session(hub, day(5, 10), day(5, 11), "Game", scene="Camera")
    report = await emit(hub, end=END)
    assert report["data"]["top_scenes"] == [{"name": "Camera", "hours": 1.0}]


async def test_backlog_growth_from_the_job_journal(reports_hub: Hub) -> None:
    hub = reports_hub
    await add_job(hub, START - H, None, None, "queued")  # waiting all week
    await add_job(hub, START - H, day(0, 3), day(0, 4), "done")  # waiting until Monday 03:00
    await add_job(hub, day(2, 1), day(6, 1), day(6, 2), "done")  # waiting Wed 01:00 → Sun 01:00
    await add_job(hub, day(3, 1), None, None, "queued")  # still waiting at the end
    await add_job(hub, day(4, 1), day(4, 2), day(4, 3), "error")
    await add_job(hub, day(1, 1), None, day(1, 2), "canceled")  # canceled while queued
    await add_job(hub, START - 9 * 86400, day(-8), day(-8, 1), "done")  # long before the period
    report = await emit(hub, end=END)
    backlog = report["data"]["backlog"]
    points = {round((p["t"] - START) / H): p["queued"] for p in backlog["points"]}
    assert len(points) == 29  # every 6 h plus the end
    assert points[0] == 2  # the all-week job and the one starting at 03:00
    assert points[6] == 1
    assert points[24] == 1  # Tuesday 00:00: the canceled one was queued 01:00-02:00 only
    assert points[72] == 2  # Thursday 00:00: + the job created Wednesday
    assert points[96] == 3  # Friday 00:00: + Thursday's
    assert points[168] == 2
    assert backlog["start"] == 2 and backlog["end"] == 2 and backlog["growth"] == 0
    assert backlog["peak"] == 3
    assert backlog["created"] == 4 and backlog["done"] == 2 and backlog["failed"] == 1


async def test_disk_usage_merges_history_and_samples(reports_hub: Hub) -> None:
    hub = reports_hub
    store = hub.data[REPORTS]
    unit = {"unit_of_measurement": "GB"}
    await add_state(hub, "sensor.drive_ssd_free", "500", day(0, 1), unit)
    await add_state(hub, "sensor.drive_ssd_free", "480", day(0, 20), unit)  # last of Monday wins
    await add_state(hub, "sensor.drive_ssd_free", "unavailable", day(1, 5), unit)  # ignored
    hub.states.async_set("sensor.drive_ssd_free", "430", unit)
    hub.states.async_set("sensor.drive_other_free", "not a number", unit)
    hub.states.async_set("sensor.cpu_percent", "12")
    assert await store.sample_disks(now=day(3, 12)) == 1
    report = await emit(hub, end=END)
    drives = report["data"]["disk"]["drives"]
    assert len(drives) == 1
    ssd = drives[0]
    assert ssd["name"] == "ssd" and ssd["unit"] == "GB"
    assert [(p["day"], p["free"]) for p in ssd["points"]] == [("2024-05-06", 480.0), ("2024-05-09", 430.0)]
    assert ssd["used_in_period"] == pytest.approx(50.0)


async def test_emit_stores_fires_and_lists(reports_hub: Hub) -> None:
    hub = reports_hub
    events: list[Event] = []
    hub.bus.async_listen(EVENT_REPORT_EMITTED, events.append)
    await add_session(hub, day(1, 10), day(1, 12), "Hades")
    report = await emit(hub, period="day", end=day(2))
    await hub.async_block_till_done()
    assert report["id"] and report["kind"] == "studio_day"
    assert report["period_end"] - report["period_start"] == pytest.approx(86400)
    assert report["data"]["recording"]["hours"] == pytest.approx(2.0)
    assert [e.data["id"] for e in events] == [report["id"]]
    row = await hub.data[DATABASE].fetchone("SELECT kind, data FROM so_reports WHERE id = ?", (report["id"],))
    assert row["kind"] == "studio_day"
    assert json.loads(row["data"])["top_games"][0]["name"] == "Hades"
    listed = await hub.data[REPORTS].list(None, 10, 0)
    assert listed["total"] == 1 and listed["items"][0]["summary"]["top_game"] == "Hades"
    unstored = await emit(hub, period="month", end=END, store=False)
    assert unstored["id"] is None
    assert (await hub.data[REPORTS].list(None, 10, 0))["total"] == 1


async def test_emit_rejects_bad_input(reports_hub: Hub) -> None:
    with pytest.raises(ServiceError, match="period"):
        await emit(reports_hub, period="fortnight")
    with pytest.raises(ServiceError, match="end"):
        await emit(reports_hub, end="next tuesday")


async def test_weekly_report_emitted_once_for_the_last_full_week(reports_hub: Hub) -> None:
    store = reports_hub.data[REPORTS]
    now = day(9, 15)  # Wednesday of the following week
    first = await store.weekly_due(now=now)
    assert first is not None
    assert (first["period_start"], first["period_end"]) == (START, END)
    assert await store.weekly_due(now=now + H) is None
    period = last_full_week(now, zone("UTC"))
    assert datetime.fromtimestamp(period.start, UTC).weekday() == 0


async def test_http_lists_and_gets_reports(tmp_path: Path) -> None:
    async def setup(hub: Hub) -> None:
        assert await async_setup(hub, CONFIG_SCHEMA({"weekly": False}))

    async with api_hub(tmp_path, setup=setup) as (hub, base_url, token):
        await add_session(hub, day(1, 10), day(1, 11), "Tunic")
        async with aiohttp.ClientSession(headers=bearer(token)) as session:
            async with session.post(
                f"{base_url}/api/services/reports/emit?return_response", json={"period": "week", "end": END}
            ) as resp:
                assert resp.status == 200, await resp.text()
                emitted = (await resp.json())["service_response"]
            async with session.get(f"{base_url}/api/reports") as resp:
                assert resp.status == 200
                listing = await resp.json()
            assert listing["total"] == 1 and listing["items"][0]["id"] == emitted["id"]
            assert listing["items"][0]["summary"]["hours"] == pytest.approx(1.0)
            async with session.get(f"{base_url}/api/reports/{emitted['id']}") as resp:
                full = await resp.json()
            assert full["data"]["top_games"][0]["name"] == "Tunic"
            async with session.get(f"{base_url}/api/reports/999") as resp:
                assert resp.status == 404 and "999" in (await resp.json())["message"]
            async with session.get(f"{base_url}/api/reports?limit=0") as resp:
                assert resp.status == 400 and "limit" in (await resp.json())["message"]
            async with session.get(f"{base_url}/api/reports?colour=red") as resp:
                assert resp.status == 400
        async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{base_url}/api/reports") as resp:
            assert resp.status == 401
