"""Overlays without a browser: manifest validation (file:line), schedules, the rotator's choices,
the impression ledger's accounting (with the hub's clock stepped by the test), the CSV, config."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from integrations.overlays import CONFIG_SCHEMA
from integrations.overlays.impressions import ImpressionLedger
from integrations.overlays.manifest_schema import Item, load_manifest
from integrations.overlays.rotator import Rotator
from integrations.overlays.schedule import Window, parse_days, parse_time
from streamops.config import ConfigErrors
from streamops.core import Hub, ServiceValidationError
from streamops.recorder import DATABASE
from tests.helpers_api import bearer
from tests.helpers_overlays import overlay_hub, write_pack

UTC_TZ = ZoneInfo("UTC")


def _errors(tmp_path: Path, manifest: str) -> list[str]:
    folder = write_pack(tmp_path, "p", manifest)
    with pytest.raises(ConfigErrors) as caught:
        load_manifest(folder, tmp_path)
    return [str(e) for e in caught.value.errors]


def test_manifest_errors_name_file_and_line(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """title: x
canvas: {width: 640, height: 360}
slots:
  a:
    width: 100
    height: 50
    anchor: middle
    rotator:
      items:
        - id: one
          duration: -1
          max_share_per_hour: 150%
          schedule: [{days: funday, from: "25:00"}]
""",
    )
    assert "overlays/p/manifest.yaml:7: value must be one of" in errors[0] and "anchor" in errors[0]
    text = "\n".join(errors)
    assert "overlays/p/manifest.yaml:11: expected a duration above 0" in text
    assert "overlays/p/manifest.yaml:12: a share of the hour is above 0 and at most 100%" in text
    assert "overlays/p/manifest.yaml:13: unknown day 'funday'" in text


def test_manifest_semantic_errors(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """canvas: {width: 640, height: 360}
slots:
  a:
    width: 700
    height: 50
    text: too wide
  b:
    width: 100
    height: 50
    text: both
    rotator:
      items:
        - {id: a, text: clash with slot a}
  c: {anchor: right, width: 10, height: 10, image: logo}
""",
    )
    text = "\n".join(errors)
    assert "overlays/p/manifest.yaml:3: slot 'a' (700x50 at 0,0) does not fit the 640x360 canvas" in text
    assert "overlays/p/manifest.yaml:14: unknown image 'logo'" in text
    assert "both static content" in text
    assert "manifest.yaml:13: id 'a' is used twice (first at line 3)" in text


def test_manifest_syntax_error_and_json(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "slots:\n  a: {width: 1\n")
    assert errors[0].startswith("overlays/p/manifest.yaml:")
    folder = tmp_path / "overlays" / "j"
    write_pack(tmp_path, "j", '{\n  "canvas": {"width": 320, "height": 180},\n  "slots": {"a": {"width": 10}}\n}\n')
    with pytest.raises(ConfigErrors) as caught:
        load_manifest(folder, tmp_path)
    assert str(caught.value.errors[0]).startswith("overlays/j/manifest.json:3: required option 'height'")


def test_slot_placement_by_anchor_inside_the_safe_area(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path,
        "p",
        """canvas: {width: 1000, height: 500}
safe_area: {top: 10, right: 20, bottom: 30, left: 40}
slots:
  br: {anchor: bottom_right, x: 5, y: 5, width: 100, height: 50, text: a}
  c: {anchor: center, width: 100, height: 50, text: b}
  out: {x: -40, width: 10, height: 10, text: c}
""",
    )
    manifest = load_manifest(folder, tmp_path)
    assert manifest.slots["br"].rect == (1000 - 20 - 5 - 100, 500 - 30 - 5 - 50, 100, 50)
    assert manifest.slots["c"].rect == (40 + (940 - 100) / 2, 10 + (460 - 50) / 2, 100, 50)
    assert [str(w) for w in manifest.warnings] == [
        "overlays/p/manifest.yaml:6: slot 'out' reaches outside the safe area (set ignore_safe_area: true if intended)"
    ]


def test_schedule_windows() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days(["sat", "sunday"]) == frozenset({5, 6})
    assert parse_time("24:00") == 1440
    evening = Window(parse_days("fri"), parse_time("22:00"), parse_time("02:00"))  # wraps past midnight
    friday_23 = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    saturday_01 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    saturday_23 = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert evening.contains(friday_23) and evening.contains(saturday_01)
    assert not evening.contains(saturday_23)


def _item(item_id: str, **kwargs: object) -> Item:
    return Item(id=item_id, text=item_id, image=None, video=None, **kwargs)  # type: ignore[arg-type]


def test_rotator_weights_spread_turns() -> None:
    rotator = Rotator([_item("a", weight=2, duration=1), _item("b", weight=1, duration=1)], UTC_TZ)
    picks = [rotator.choose(1_000_000.0 + i).id for i in range(9)]  # type: ignore[union-attr]
    assert picks.count("a") == 6 and picks.count("b") == 3
    assert "a a a" not in " ".join(picks)  # spread, no streaks


def test_rotator_max_share_per_hour_and_schedule() -> None:
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
    capped = _item("capped", duration=60, max_share=0.1)  # 6 turns of a minute per hour
    weekend = _item("weekend", duration=60, schedule=(Window(parse_days("weekend")),))
    filler = _item("filler", duration=60, weight=0.001)
    rotator = Rotator([capped, weekend, filler], UTC_TZ)
    now = monday_noon
    shown: dict[str, float] = {}
    while now < monday_noon + 2 * 3600:
        item = rotator.choose(now)
        assert item is not None
        shown[item.id] = shown.get(item.id, 0) + item.duration
        now += item.duration
    assert "weekend" not in shown
    assert shown["capped"] == pytest.approx(2 * 360, abs=60)  # 10 % of each hour
    assert rotator.choose(datetime(2026, 11, 28, 12, 0, tzinfo=UTC).timestamp()).id in ("weekend", "capped")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _ledger(db_hub: Hub, clock: Clock) -> ImpressionLedger:
    # Wall clock pinned at noon UTC, so the day is known.
    noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
    return ImpressionLedger(db_hub.data[DATABASE], UTC_TZ, reconnect_grace=30, monotonic=clock, wall=lambda: noon)


async def test_ledger_dedups_resent_reports_and_places_queued_ones_by_page_clock(db_hub: Hub) -> None:
    clock = Clock()
    ledger = await _ledger(db_hub, clock)
    session = ledger.attach("o", "session-1")
    # Page clock starts at 5.0 when the hub's is 1000 (an arbitrary offset, like any real page).
    assert ledger.accept(session, 1)
    ledger.start(session, "a", session.place(5.0, clock.now))
    clock.now += 10
    ledger.detach(session)  # socket dropped
    clock.now += 4
    # Reconnect: the page resends report 1 (already applied) and the stop it made at page time 17.
    session = ledger.attach("o", "session-1")
    assert not ledger.accept(session, 1)
    assert ledger.accept(session, 2)
    ledger.stop(session, "a", session.place(17.0, clock.now))
    report = await ledger.report("o")
    assert report[0]["seconds"] == pytest.approx(12.0)  # 5 → 17 on the page = 1000 → 1012 on the hub
    assert report[0]["shows"] == 1


async def test_ledger_union_of_two_pages_and_expiry_at_last_heard(db_hub: Hub) -> None:
    clock = Clock()
    ledger = await _ledger(db_hub, clock)
    first = ledger.attach("o", "page-one")
    second = ledger.attach("o", "page-two")
    ledger.start(first, "a", clock.now)
    clock.now += 5
    ledger.start(second, "a", clock.now)  # a second source showing the same item: same show
    clock.now += 5
    ledger.checkpoint()
    first.last_heard = clock.now
    ledger.detach(first)  # gone for good
    clock.now += 5
    ledger.stop(second, "a", clock.now)
    clock.now += 31
    ledger.checkpoint()  # past the grace: first's display closes where it was last heard
    assert "page-one" not in ledger.sessions
    report = await ledger.report("o")
    assert report[0]["seconds"] == pytest.approx(15.0)  # 1000 → 1015 once, not 25
    assert report[0]["shows"] == 1


async def test_ledger_splits_at_midnight(db_hub: Hub) -> None:
    clock = Clock()
    before_midnight = datetime(2026, 11, 23, 23, 59, 50, tzinfo=UTC).timestamp()
    ledger = ImpressionLedger(db_hub.data[DATABASE], UTC_TZ, monotonic=clock, wall=lambda: before_midnight)
    session = ledger.attach("o", "session-1")
    ledger.start(session, "a", clock.now)
    clock.now += 30
    ledger.stop(session, "a", clock.now)
    days = {d["day"]: d["seconds"] for d in (await ledger.report("o"))[0]["days"]}
    assert days == {"2026-11-23": pytest.approx(10.0), "2026-11-24": pytest.approx(20.0)}
    rows = list(csv.reader(io.StringIO(await ledger.csv_report("o"))))
    assert rows[0] == ["overlay", "item", "day", "shows", "seconds", "first_shown", "last_shown"]
    assert [r[2] for r in rows[1:]] == ["2026-11-23", "2026-11-24"]


STATIC = """
canvas: {width: 640, height: 360}
slots:
  title: {width: 400, height: 60, text: hello}
  ad:
    width: 100
    height: 50
    anchor: bottom_left
    rotator: {items: [{id: x, text: X}, {id: y, text: Y}]}
"""


async def test_services_validate_and_api_serves_impressions(tmp_path: Path) -> None:
    async with overlay_hub(tmp_path, {"s": STATIC}) as oh:
        call = oh.hub.services.async_call
        with pytest.raises(ServiceValidationError, match="is a rotator: name the 'item'"):
            await call("overlay", "update", {"slot": "ad", "text": "x"})
        with pytest.raises(ServiceValidationError, match="no slot 'nope'"):
            await call("overlay", "hide", {"overlay": "s", "slot": "nope"})
        with pytest.raises(ServiceValidationError, match="no overlay named 'zz'"):
            await call("overlay", "next", {"overlay": "zz"})
        plan = await call("overlay", "update", {"slot": "title", "text": "dry"}, dry_run=True)
        assert plan == {"dry_run": True, "overlay": "s", "item": "title", "set": {"text": "dry"}, "reset": False}
        runtime = oh.manager.overlays["s"]
        assert runtime.content(runtime.current["title"])["text"] == "hello"  # dry run touched nothing
        await call("overlay", "update", {"slot": "title", "text": "live"})
        await call("overlay", "hide", {"slot": "ad"})
        assert runtime.slot_message("ad")["visible"] is False
        row = await oh.hub.data[DATABASE].fetchone("SELECT overrides FROM so_overlays WHERE name = 's'")
        assert '"live"' in row["overrides"]  # survives a restart
        async with aiohttp.ClientSession(headers=bearer(oh.token)) as http:
            async with http.get(f"{oh.base_url}/api/overlays/s/impressions?from=2020-01-01") as response:
                assert response.status == 200
                assert (await response.json())["items"] == []
            async with http.get(f"{oh.base_url}/api/overlays/s/impressions.csv") as response:
                assert response.status == 200 and response.content_type == "text/csv"
            async with http.get(f"{oh.base_url}/api/overlays/s/impressions?from=yesterday") as response:
                assert response.status == 400
            async with http.get(f"{oh.base_url}/api/overlays/nope/impressions") as response:
                assert response.status == 404


def test_config_schema() -> None:
    assert CONFIG_SCHEMA(None) == {"directory": "overlays", "reconnect_grace": 30.0}
    assert CONFIG_SCHEMA({"base_url": "http://obs-pc:7767/"})["base_url"] == "http://obs-pc:7767"
