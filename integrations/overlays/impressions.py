"""The impression ledger: seconds on screen per item, clocked by the hub, not by the page.

Sponsors pay for time on screen, so the count must be honest in both directions: no time the page
did not show, no time counted twice. The page reports *what it actually showed* — `start` and
`stop` of an item's display, each with a per-page-load sequence number and the page's monotonic
clock — and the hub does the accounting:

- **Server clock.** A live report is placed at the hub's monotonic clock when it arrives. The page's
  clock only places reports that were queued while the socket was down: the offset between the two
  monotonic clocks is estimated as the smallest (arrival - page time) seen, which needs no wall
  clock at all, so clock skew changes nothing; times are clamped between the session's previous
  report and now, so a page can never claim time in the future or reorder the past.
- **Sequence numbers.** Each page load is a session (a random id); reports are applied once, in
  order (a resent report with a sequence already applied is ignored), so a reconnect that resends
  its outbox never double counts.
- **Reconnects resume.** When the socket drops, the session's open displays stay open for
  `reconnect_grace` seconds; the page comes back with the same session id, resends what it could not
  deliver and a `sync` of what it shows now. A page that does not come back (closed, crashed) has
  its displays closed at the last moment the hub heard from it — an undercount of at most one
  heartbeat, never an overcount.
- **Union, not sum.** Seconds are added up to a per-item watermark, so two pages showing the same
  item at once (a reload overlapping the old page, two browser sources) count the time once; a
  display taken over by another page (a reload) within `CONTINUATION_GAP` is the same show.
- **Crash safety.** Open displays of connected pages are checkpointed every few seconds into
  `so_overlay_impressions` (one row per overlay, item and local day; a display crossing midnight
  is split between the days).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from streamops.recorder.database import Database

_LOGGER = logging.getLogger(__name__)

CONTINUATION_GAP = 10.0
UPSERT_SQL = (
    "INSERT INTO so_overlay_impressions (overlay, item, day, shows, seconds, first_shown, last_shown)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (overlay, item, day) DO UPDATE SET"
    " shows = shows + excluded.shows,"
    " seconds = seconds + excluded.seconds,"
    " first_shown = MIN(COALESCE(first_shown, excluded.first_shown), COALESCE(excluded.first_shown, first_shown)),"
    " last_shown = MAX(COALESCE(last_shown, excluded.last_shown), COALESCE(excluded.last_shown, last_shown))"
)


@dataclass
class PageSession:
    """One page load of one overlay (a reload is a new session)."""

    id: str
    overlay: str
    last_seq: int = 0
    offset: float | None = None
    last_event: float = 0.0
    last_heard: float = 0.0
    connected: bool = True
    disconnected_at: float | None = None
    open: dict[str, float] = field(default_factory=dict)  # item id → display start (hub monotonic)

    def place(self, page_time: float | None, now: float) -> float:
        """Hub-monotonic time of a report made at `page_time` (page seconds), received `now`."""
        self.last_heard = now
        if page_time is None:
            moment = now
        else:
            estimate = now - page_time
            self.offset = estimate if self.offset is None else min(self.offset, estimate)
            moment = page_time + self.offset
        moment = min(max(moment, self.last_event), now)
        self.last_event = moment
        return moment


@dataclass
class _Delta:
    shows: int = 0
    seconds: float = 0.0
    first: float | None = None
    last: float | None = None


class ImpressionLedger:
    """Sessions, open displays and the pending per-day totals; `flush()` writes them."""

    def __init__(
        self,
        db: Database,
        tz: tzinfo,
        reconnect_grace: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.tz = tz
        self.reconnect_grace = reconnect_grace
        self.monotonic = monotonic
        self._wall_offset = wall() - monotonic()
        self.sessions: dict[str, PageSession] = {}
        self._covered: dict[tuple[str, str], float] = {}
        self._last_session: dict[tuple[str, str], str] = {}
        self._pending: dict[tuple[str, str, str], _Delta] = {}

    # -- sessions --------------------------------------------------------------------------------
    def attach(self, overlay: str, session_id: str) -> PageSession:
        """The page's session (resumed after a reconnect, or new)."""
        now = self.monotonic()
        session = self.sessions.get(session_id)
        if session is None or session.overlay != overlay:
            session = PageSession(session_id, overlay, last_event=now, last_heard=now)
            self.sessions[session_id] = session
        session.connected = True
        session.disconnected_at = None
        session.last_heard = now
        return session

    def detach(self, session: PageSession) -> None:
        """The socket closed: keep the displays open for the grace period (the page may come back)."""
        if self.sessions.get(session.id) is session:
            session.connected = False
            session.disconnected_at = self.monotonic()

    def close_session(self, session: PageSession, at: float | None = None) -> None:
        """End every open display of a session (page gone, overlay removed) and forget it."""
        end = session.last_heard if at is None else at
        for item in list(session.open):
            self._stop(session, item, max(end, session.open[item]))
        self.sessions.pop(session.id, None)

    def close_overlay(self, overlay: str) -> None:
        now = self.monotonic()
        for session in [s for s in self.sessions.values() if s.overlay == overlay]:
            self.close_session(session, now if session.connected else None)

    # -- reports ---------------------------------------------------------------------------------
    def accept(self, session: PageSession, seq: int) -> bool:
        """True when report `seq` is new (applied in order, once)."""
        if seq <= session.last_seq:
            return False
        session.last_seq = seq
        return True

    def start(self, session: PageSession, item: str, at: float) -> None:
        if item in session.open:
            return
        key = (session.overlay, item)
        shown_elsewhere = any(
            item in other.open
            for other in self.sessions.values()
            if other is not session and other.overlay == session.overlay
        )
        covered = self._covered.get(key)
        # Another page took over the same item (a reload, a second source): the same show goes on.
        # The same page showing it again after a stop (hidden, then visible) is a new show.
        handover = self._last_session.get(key) != session.id
        continuing = shown_elsewhere or (handover and covered is not None and at - covered <= CONTINUATION_GAP)
        self._last_session[key] = session.id
        session.open[item] = at
        if not continuing:
            delta = self._delta(session.overlay, item, at)
            delta.shows += 1
            self._touch(delta, at)

    def stop(self, session: PageSession, item: str, at: float) -> None:
        if item in session.open:
            self._stop(session, item, at)

    def sync(self, session: PageSession, showing: set[str], known: set[str], at: float) -> None:
        """The page's full picture after a (re)connect: close what it no longer shows, open the rest."""
        for item in list(session.open):
            if item not in showing:
                self._stop(session, item, at)
        for item in showing:
            if item in known:
                self.start(session, item, at)

    def _stop(self, session: PageSession, item: str, at: float) -> None:
        start = session.open.pop(item)
        self._accrue(session.overlay, item, start, at)

    # -- accounting ------------------------------------------------------------------------------
    def wall(self, mono: float) -> float:
        return mono + self._wall_offset

    def _day(self, mono: float) -> str:
        return datetime.fromtimestamp(self.wall(mono), self.tz).date().isoformat()

    def _delta(self, overlay: str, item: str, mono: float) -> _Delta:
        key = (overlay, item, self._day(mono))
        delta = self._pending.get(key)
        if delta is None:
            delta = self._pending[key] = _Delta()
        return delta

    def _touch(self, delta: _Delta, mono: float) -> None:
        wall = self.wall(mono)
        delta.first = wall if delta.first is None else min(delta.first, wall)
        delta.last = wall if delta.last is None else max(delta.last, wall)

    def _accrue(self, overlay: str, item: str, start: float, end: float) -> None:
        """Add [start, end) minus what is already counted for this item, split at local midnight."""
        key = (overlay, item)
        covered = self._covered.get(key)
        begin = start if covered is None else max(start, covered)
        if end <= begin:
            return
        self._covered[key] = end
        cursor = begin
        while cursor < end:
            local = datetime.fromtimestamp(self.wall(cursor), self.tz)
            midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), self.tz)
            boundary = min(end, cursor + max(midnight.timestamp() - self.wall(cursor), 1e-6))
            delta = self._delta(overlay, item, cursor)
            delta.seconds += boundary - cursor
            self._touch(delta, cursor)
            self._touch(delta, boundary)
            cursor = boundary

    def checkpoint(self) -> None:
        """Count open displays of connected pages up to now; close those of pages gone too long."""
        now = self.monotonic()
        for session in list(self.sessions.values()):
            if session.connected:
                for item, start in session.open.items():
                    self._accrue(session.overlay, item, start, now)
            elif session.disconnected_at is not None and now - session.disconnected_at > self.reconnect_grace:
                _LOGGER.debug(
                    "Overlay page %s… of %s did not come back; closing its displays", session.id[:6], session.overlay
                )
                self.close_session(session)

    async def flush(self) -> None:
        """Write the pending totals (one upsert per overlay, item and day)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        rows = [
            (overlay, item, day, d.shows, round(d.seconds, 3), d.first, d.last)
            for (overlay, item, day), d in pending.items()
        ]
        try:
            await self.db.executemany(UPSERT_SQL, rows)
        except Exception:
            # Put them back: the next flush retries, nothing is lost.
            for key, delta in pending.items():
                merged = self._pending.setdefault(key, _Delta())
                merged.shows += delta.shows
                merged.seconds += delta.seconds
                for stamp in (delta.first, delta.last):
                    if stamp is not None:
                        self._touch_wall(merged, stamp)
            raise

    @staticmethod
    def _touch_wall(delta: _Delta, wall: float) -> None:
        delta.first = wall if delta.first is None else min(delta.first, wall)
        delta.last = wall if delta.last is None else max(delta.last, wall)

    # -- reading ---------------------------------------------------------------------------------
    async def report(
        self, overlay: str, day_from: str | None = None, day_to: str | None = None
    ) -> list[dict[str, Any]]:
        """Per item: totals, first/last shown and the per-day rows (after counting what is open)."""
        self.checkpoint()
        await self.flush()
        sql = "SELECT item, day, shows, seconds, first_shown, last_shown FROM so_overlay_impressions WHERE overlay = ?"
        params: list[Any] = [overlay]
        if day_from:
            sql += " AND day >= ?"
            params.append(day_from)
        if day_to:
            sql += " AND day <= ?"
            params.append(day_to)
        rows = await self.db.fetchall(sql + " ORDER BY item, day", params)
        items: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = items.setdefault(
                row["item"],
                {"item": row["item"], "shows": 0, "seconds": 0.0, "first_shown": None, "last_shown": None, "days": []},
            )
            entry["shows"] += row["shows"]
            entry["seconds"] += row["seconds"]
            for name, pick in (("first_shown", min), ("last_shown", max)):
                if row[name] is not None:
                    entry[name] = row[name] if entry[name] is None else pick(entry[name], row[name])
            entry["days"].append(
                {
                    "day": row["day"],
                    "shows": row["shows"],
                    "seconds": round(row["seconds"], 3),
                    "first_shown": _iso(row["first_shown"], self.tz),
                    "last_shown": _iso(row["last_shown"], self.tz),
                }
            )
        for entry in items.values():
            entry["seconds"] = round(entry["seconds"], 3)
            entry["first_shown"] = _iso(entry["first_shown"], self.tz)
            entry["last_shown"] = _iso(entry["last_shown"], self.tz)
        return list(items.values())

    async def csv_report(self, overlay: str, day_from: str | None = None, day_to: str | None = None) -> str:
        """One line per item and day: what a sponsor's invoice is checked against."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["overlay", "item", "day", "shows", "seconds", "first_shown", "last_shown"])
        for entry in await self.report(overlay, day_from, day_to):
            for day in entry["days"]:
                writer.writerow(
                    [
                        overlay,
                        entry["item"],
                        day["day"],
                        day["shows"],
                        f"{day['seconds']:.3f}",
                        day["first_shown"] or "",
                        day["last_shown"] or "",
                    ]
                )
        return out.getvalue()


def _iso(stamp: float | None, tz: tzinfo) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, tz).isoformat(timespec="seconds")
