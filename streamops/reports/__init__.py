"""Studio reports (core component `reports`): the weekly report a streamer reads on Monday.

Service `reports.emit` — `period` (day | week | month, default week), `end` (ISO date-time or epoch
seconds; default now), `store` (default true): computes the report (see compute.py for what each
figure is made of), stores it in `so_reports` (kind `studio_<period>`), fires `report_emitted`
(`id`, `kind`, `period_start`, `period_end`) and returns the report with its `id`.

HTTP: `GET /api/reports?kind=&limit=&offset=` (newest first, with a summary each) and
`GET /api/reports/{id}` (the whole report).

Configuration (`reports:`, all optional)::

    reports:
      weekly: true          # emit the last full week's report (Monday to Monday, local time) once
      sample_interval: 3600 # seconds between free-space samples of sensor.drive_*_free
      keep_samples_days: 400
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey, ServiceCall, ServiceError, SupportsResponse
from ..recorder import DATABASE
from ..recorder.database import Database
from .compute import PERIODS, Period, ReportError, compute_report, last_full_week, period_ending, summary, zone

_LOGGER = logging.getLogger(__name__)

DOMAIN = "reports"
EVENT_REPORT_EMITTED = "report_emitted"

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("weekly", default=True): bool,
        vol.Optional("sample_interval", default=3600.0): vol.All(vol.Coerce(float), vol.Range(min=1)),
        vol.Optional("keep_samples_days", default=400): vol.All(vol.Coerce(int), vol.Range(min=1)),
    }
)


def _when(value: Any) -> float:
    from ..assets.search import SearchError, parse_time

    try:
        return parse_time("end", str(value))
    except SearchError as err:
        raise vol.Invalid(str(err)) from err


EMIT_SCHEMA = vol.Schema(
    {
        vol.Optional("period", default="week"): vol.In(list(PERIODS)),
        vol.Optional("end"): _when,
        vol.Optional("store", default=True): bool,
    }
)


class ReportStore:
    """Computes, stores and lists reports; samples drive free space for the disk chart."""

    def __init__(self, hub: Hub, db: Database, config: dict[str, Any]) -> None:
        self.hub = hub
        self.db = db
        self.config = config

    @property
    def tz(self):  # type: ignore[no-untyped-def]
        return zone(self.hub.config.time_zone)

    async def emit(self, kind: str = "week", end: float | None = None, *, store: bool = True) -> dict[str, Any]:
        now = time.time()
        period = period_ending(kind, now if end is None else end, self.tz)
        return await self.emit_period(period, store=store, now=now)

    async def emit_period(self, period: Period, *, store: bool = True, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        data = await compute_report(self.db, period, self.tz, now)
        report: dict[str, Any] = {
            "id": None,
            "kind": period.report_kind,
            "period_start": period.start,
            "period_end": period.end,
            "created": now,
            "data": data,
        }
        if store:
            report["id"] = await self.db.execute(
                "INSERT INTO so_reports (period_start, period_end, kind, data, created) VALUES (?, ?, ?, ?, ?)",
                (period.start, period.end, period.report_kind, json.dumps(data), now),
            )
        self.hub.bus.async_fire(
            EVENT_REPORT_EMITTED,
            {"id": report["id"], "kind": report["kind"], "period_start": period.start, "period_end": period.end},
        )
        return report

    async def list(self, kind: str | None, limit: int, offset: int) -> dict[str, Any]:
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        rows = await self.db.fetchall(
            f"SELECT id, kind, period_start, period_end, created, data FROM so_reports {where}"
            " ORDER BY period_end DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = await self.db.fetchone(f"SELECT COUNT(*) AS n FROM so_reports {where}", params)
        items = []
        for row in rows:
            try:
                data = json.loads(row["data"] or "{}")
            except ValueError:
                data = {}
            items.append(
                {
                    "id": row["id"],
                    "kind": row["kind"],
                    "period_start": row["period_start"],
                    "period_end": row["period_end"],
                    "created": row["created"],
                    "summary": summary(data) if isinstance(data, dict) else {},
                }
            )
        return {"total": int(total["n"]) if total else 0, "limit": limit, "offset": offset, "items": items}

    async def get(self, report_id: int) -> dict[str, Any] | None:
        row = await self.db.fetchone(
            "SELECT id, kind, period_start, period_end, created, data FROM so_reports WHERE id = ?", (report_id,)
        )
        if row is None:
            return None
        try:
            data = json.loads(row["data"] or "{}")
        except ValueError:
            data = {"error": "the stored report is not valid JSON"}
        return {
            "id": row["id"],
            "kind": row["kind"],
            "period_start": row["period_start"],
            "period_end": row["period_end"],
            "created": row["created"],
            "data": data,
        }

    # -- background work ---------------------------------------------------------------------------
    async def sample_disks(self, now: float | None = None) -> int:
        """Store the current free space of every sensor.drive_*_free (numeric states only)."""
        now = time.time() if now is None else now
        rows = []
        for state in self.hub.states.async_all("sensor"):
            entity_id = state.entity_id
            if not (entity_id.startswith("sensor.drive_") and entity_id.endswith("_free")):
                continue
            try:
                value = float(state.state)
            except (TypeError, ValueError):
                continue
            rows.append((entity_id, now, value, state.attributes.get("unit_of_measurement")))
        if rows:
            await self.db.executemany(
                "INSERT OR REPLACE INTO so_report_disk_samples (entity_id, sampled, free, unit) VALUES (?, ?, ?, ?)",
                rows,
            )
        await self.db.execute(
            "DELETE FROM so_report_disk_samples WHERE sampled < ?",
            (now - self.config["keep_samples_days"] * 86400,),
        )
        return len(rows)

    async def weekly_due(self, now: float | None = None) -> dict[str, Any] | None:
        """Emit the last full week's report unless it exists; the new report, or None."""
        period = last_full_week(time.time() if now is None else now, self.tz)
        row = await self.db.fetchone(
            "SELECT id FROM so_reports WHERE kind = ? AND period_start = ? AND period_end = ?",
            (period.report_kind, period.start, period.end),
        )
        if row is not None:
            return None
        return await self.emit_period(period)

    async def run(self) -> None:
        """Sample drives and check for a due weekly report, every `sample_interval` seconds."""
        while True:
            try:
                await self.sample_disks()
                if self.config["weekly"]:
                    await self.weekly_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Reports: periodic sample/weekly report failed; retrying next interval")
            await asyncio.sleep(self.config["sample_interval"])


REPORTS: HubKey[ReportStore] = HubKey("reports")


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    config = CONFIG_SCHEMA(dict(config or {}))
    store = ReportStore(hub, hub.data[DATABASE], config)
    hub.data[REPORTS] = store

    async def handle_emit(call: ServiceCall) -> dict[str, Any]:
        try:
            return await store.emit(call.data["period"], call.data.get("end"), store=call.data["store"])
        except ReportError as err:
            raise ServiceError(f"reports.emit: {err}") from err

    hub.services.async_register(
        DOMAIN,
        "emit",
        handle_emit,
        EMIT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
        description="Compute the studio report (hours recorded, disk usage, top games/scenes, backlog growth).",
        fields={
            "period": {"description": "day, week (default) or month, ending at `end`"},
            "end": {"description": "ISO date-time or epoch seconds (default: now)"},
            "store": {"description": "Keep it in so_reports (default true)"},
        },
    )

    async def start(*_: Any) -> None:
        hub.async_create_background_task(store.run(), "reports: samples and weekly report")

    hub.async_on_start(start)

    from ..api import HTTP

    server = hub.data.get(HTTP)
    if server is not None:
        from .http import add_routes

        add_routes(server.app, store)
    return True


__all__ = ["CONFIG_SCHEMA", "DOMAIN", "EVENT_REPORT_EMITTED", "REPORTS", "ReportStore", "async_setup"]
