"""The studio report: what a week (day, month) of streaming and processing added up to.

Everything is computed from tables other parts already keep — no counters of its own that could
drift from the truth:

- hours recorded: `so_sessions` rows overlapping the period, clipped to it (a session still running
  counts up to the period's end or now, whichever is earlier);
- top games: sessions' `game` by recorded time; top scenes: time in each `sensor.obs_scene` state
  *while recording* (state history intersected with the sessions), or a session's starting scene
  when the history has none;
- disk usage over time: `sensor.drive_*_free` from the state history plus this component's own
  hourly samples (history may be purged sooner), the last value of each day per drive;
- backlog growth: jobs waiting in `so_jobs` at each sample time — created, not yet started, not yet
  finished (canceled while queued ends the wait) — from the journal's timestamps;
- assets indexed in the period (count and bytes).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..recorder.database import Database

PERIODS = {"day": 1, "week": 7, "month": 30}
TOP = 10
DRIVE_PATTERN = "sensor.drive_%_free"
SCENE_ENTITY = "sensor.obs_scene"
UNKNOWN_STATES = frozenset({"unknown", "unavailable", ""})


class ReportError(ValueError):
    """A report request that cannot be answered (bad period or dates); the message says which."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: float
    end: float

    @property
    def report_kind(self) -> str:
        return f"studio_{self.kind}"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_ending(kind: str, end: float, tz: ZoneInfo) -> Period:
    """The `kind` period ending at `end` (seconds since the epoch)."""
    if kind not in PERIODS:
        raise ReportError(f"period: expected one of {', '.join(PERIODS)}, not {kind!r}")
    stop = datetime.fromtimestamp(end, tz)
    return Period(kind, (stop - timedelta(days=PERIODS[kind])).timestamp(), end)


def last_full_week(now: float, tz: ZoneInfo) -> Period:
    """Monday 00:00 → Monday 00:00 (local time) of the last complete week: the weekly report's span."""
    today = datetime.fromtimestamp(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    return Period("week", (monday - timedelta(days=7)).timestamp(), monday.timestamp())


def day_starts(period: Period, tz: ZoneInfo) -> list[float]:
    """Local midnights from the period's start day up to its end (the first may precede the start)."""
    day = datetime.fromtimestamp(period.start, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[float] = []
    while day.timestamp() < period.end:
        out.append(day.timestamp())
        day = (day + timedelta(days=1, hours=2)).replace(hour=0)  # robust across DST changes
    return out


def _day_label(ts: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d")


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


async def recording(db: Database, period: Period, tz: ZoneInfo, now: float) -> dict[str, Any]:
    rows = await db.fetchall(
        "SELECT id, started, ended, game, scene FROM so_sessions WHERE started < ? AND (ended IS NULL OR ended > ?)"
        " ORDER BY started",
        (period.end, period.start),
    )
    sessions: list[dict[str, Any]] = []
    for row in rows:
        ended = float(row["ended"]) if row["ended"] is not None else min(now, period.end)
        start, end = max(float(row["started"]), period.start), min(ended, period.end)
        if end > start:
            sessions.append({"id": row["id"], "start": start, "end": end, "game": row["game"], "scene": row["scene"]})
    days = day_starts(period, tz)
    by_day = []
    for index, day in enumerate(days):
        day_end = days[index + 1] if index + 1 < len(days) else period.end
        seconds = sum(_overlap(s["start"], s["end"], max(day, period.start), day_end) for s in sessions)
        by_day.append({"day": _day_label(day, tz), "start": day, "hours": round(seconds / 3600, 3)})
    total = sum(s["end"] - s["start"] for s in sessions)
    return {
        "hours": round(total / 3600, 3),
        "sessions": len(sessions),
        "longest_hours": round(max((s["end"] - s["start"] for s in sessions), default=0.0) / 3600, 3),
        "by_day": by_day,
        "_sessions": sessions,
    }


def top_games(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for s in sessions:
        name = s["game"] or "(no game)"
        seconds[name] += s["end"] - s["start"]
        counts[name] += 1
    ranked = sorted(seconds.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return [{"name": name, "hours": round(sec / 3600, 3), "sessions": counts[name]} for name, sec in ranked]


async def top_scenes(db: Database, period: Period, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Time on each scene while recording, from the scene sensor's history."""
    seconds: dict[str, float] = defaultdict(float)
    if sessions:
        before = await db.fetchone(
            "SELECT state, last_changed FROM so_states WHERE entity_id = ? AND last_updated <= ?"
            " ORDER BY last_updated DESC LIMIT 1",
            (SCENE_ENTITY, period.start),
        )
        rows = await db.fetchall(
            "SELECT state, last_changed FROM so_states WHERE entity_id = ? AND last_updated > ? AND last_updated < ?"
            " ORDER BY last_updated",
            (SCENE_ENTITY, period.start, period.end),
        )
        changes = ([(period.start, before["state"])] if before is not None else []) + [
            (max(float(r["last_changed"]), period.start), r["state"]) for r in rows
        ]
        for index, (since, scene) in enumerate(changes):
            until = changes[index + 1][0] if index + 1 < len(changes) else period.end
            if scene in UNKNOWN_STATES:
                continue
            for s in sessions:
                seconds[scene] += _overlap(since, until, s["start"], s["end"])
        if not changes:  # no scene history: a session's starting scene stands for all of it
            for s in sessions:
                if s["scene"]:
                    seconds[s["scene"]] += s["end"] - s["start"]
    ranked = sorted(((k, v) for k, v in seconds.items() if v > 0), key=lambda item: (-item[1], item[0]))[:TOP]
    return [{"name": name, "hours": round(sec / 3600, 3)} for name, sec in ranked]


async def disk_usage(db: Database, period: Period, tz: ZoneInfo) -> dict[str, Any]:
    """Per drive: the last free-space value of each day (state history and own samples merged)."""
    rows = await db.fetchall(
        "SELECT entity_id, state, attributes, last_updated FROM so_states WHERE entity_id LIKE ?"
        " AND last_updated >= ? AND last_updated < ? ORDER BY last_updated",
        (DRIVE_PATTERN, period.start, period.end),
    )
    samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    units: dict[str, str | None] = {}
    for row in rows:
        try:
            value = float(row["state"])
        except (TypeError, ValueError):
            continue
        samples[row["entity_id"]].append((float(row["last_updated"]), value))
        try:
            units.setdefault(row["entity_id"], json.loads(row["attributes"] or "{}").get("unit_of_measurement"))
        except ValueError:
            pass
    own = await db.fetchall(
        "SELECT entity_id, sampled, free, unit FROM so_report_disk_samples WHERE sampled >= ? AND sampled < ?"
        " ORDER BY sampled",
        (period.start, period.end),
    )
    for row in own:
        samples[row["entity_id"]].append((float(row["sampled"]), float(row["free"])))
        units.setdefault(row["entity_id"], row["unit"])
    drives = []
    for entity_id in sorted(samples):
        per_day: dict[str, tuple[float, float]] = {}
        for ts, value in sorted(samples[entity_id]):
            per_day[_day_label(ts, tz)] = (ts, value)
        points = [{"day": day, "t": ts, "free": round(value, 3)} for day, (ts, value) in sorted(per_day.items())]
        name = entity_id.removeprefix("sensor.drive_").removesuffix("_free")
        first, last = points[0]["free"], points[-1]["free"]
        drives.append(
            {
                "entity_id": entity_id,
                "name": name,
                "unit": units.get(entity_id),
                "points": points,
                "first": first,
                "last": last,
                "used_in_period": round(first - last, 3),
            }
        )
    return {"drives": drives}


async def backlog(db: Database, period: Period, tz: ZoneInfo, now: float) -> dict[str, Any]:
    """Jobs waiting at each sample time (every 6 h for a week, hourly for a day, daily for a month)."""
    step = {"day": 3600.0, "week": 6 * 3600.0, "month": 24 * 3600.0}.get(period.kind, 6 * 3600.0)
    rows = await db.fetchall(
        "SELECT created, started, finished FROM so_jobs WHERE created < ? AND (finished IS NULL OR finished >= ?)",
        (period.end, period.start),
    )
    jobs = [
        (
            float(r["created"]),
            float(r["started"]) if r["started"] is not None else None,
            float(r["finished"]) if r["finished"] is not None else None,
        )
        for r in rows
    ]
    end = min(period.end, max(now, period.start))
    times = []
    t = period.start
    while t < end:
        times.append(t)
        t += step
    times.append(end)

    def waiting(at: float) -> int:
        return sum(
            1
            for created, started, finished in jobs
            if created <= at and (started is None or started > at) and (finished is None or finished > at)
        )

    points = [{"t": round(at, 3), "queued": waiting(at)} for at in times]
    counts = await db.fetchone(
        "SELECT"
        " SUM(CASE WHEN created >= ? AND created < ? THEN 1 ELSE 0 END) AS created,"
        " SUM(CASE WHEN status = 'done' AND finished >= ? AND finished < ? THEN 1 ELSE 0 END) AS done,"
        " SUM(CASE WHEN status = 'error' AND finished >= ? AND finished < ? THEN 1 ELSE 0 END) AS failed"
        " FROM so_jobs WHERE created < ?",
        (period.start, period.end, period.start, period.end, period.start, period.end, period.end),
    )
    start_q, end_q = points[0]["queued"], points[-1]["queued"]
    return {
        "points": points,
        "created": int(counts["created"] or 0) if counts else 0,
        "done": int(counts["done"] or 0) if counts else 0,
        "failed": int(counts["failed"] or 0) if counts else 0,
        "start": start_q,
        "end": end_q,
        "growth": end_q - start_q,
        "peak": max(p["queued"] for p in points),
    }


async def assets_indexed(db: Database, period: Period) -> dict[str, Any]:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM so_assets WHERE created >= ? AND created < ?",
        (period.start, period.end),
    )
    return {"count": int(row["n"]) if row else 0, "bytes": int(row["bytes"]) if row else 0}


async def compute_report(db: Database, period: Period, tz: ZoneInfo, now: float | None = None) -> dict[str, Any]:
    """The report as a JSON-able dict (not stored: see ReportStore.emit)."""
    now = time.time() if now is None else now
    rec = await recording(db, period, tz, now)
    sessions = rec.pop("_sessions")
    try:
        indexed = await assets_indexed(db, period)
    except Exception as err:  # the assets component's table may not exist in a minimal setup
        indexed = {"count": 0, "bytes": 0, "note": f"asset index unavailable: {err}"}
    return {
        "version": 1,
        "period": period.kind,
        "start": period.start,
        "end": period.end,
        "time_zone": tz.key,
        "generated": now,
        "recording": rec,
        "top_games": top_games(sessions),
        "top_scenes": await top_scenes(db, period, sessions),
        "disk": await disk_usage(db, period, tz),
        "backlog": await backlog(db, period, tz, now),
        "assets": indexed,
    }


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """The few figures a report list shows."""
    return {
        "hours": (data.get("recording") or {}).get("hours"),
        "sessions": (data.get("recording") or {}).get("sessions"),
        "top_game": ((data.get("top_games") or [{}])[0] or {}).get("name"),
        "backlog_growth": (data.get("backlog") or {}).get("growth"),
    }
