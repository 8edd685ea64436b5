"""Time windows for rotator items (`schedule:`): which weekdays and which local hours an item may run.

A sponsor deal often says "weekday evenings only"; the window is checked in the hub's time zone
(`TZ`), the clock the streamer lives by, not UTC. A window whose `to` is not after its `from`
wraps past midnight and belongs to the day it starts on (`fri 22:00-02:00` covers Saturday 01:00).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import voluptuous as vol

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{name: (index,) for index, name in enumerate(DAY_NAMES)},
    **{
        full: (index,)
        for index, full in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "daily": tuple(range(7)),
    "all": tuple(range(7)),
}
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
MINUTES_PER_DAY = 24 * 60


def parse_time(value: Any) -> int:
    """'18:30' → minutes after midnight; '24:00' is allowed as the end of the day."""
    match = _TIME_RE.match(str(value).strip())
    if not match:
        raise vol.Invalid(f"expected a time as HH:MM (e.g. '18:30'), got {value!r}")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise vol.Invalid(f"no such time of day: {value!r}")
    return hours * 60 + minutes


def parse_days(value: Any) -> frozenset[int]:
    """'mon-fri', 'weekend', ['mon', 'wed'], 'sat,sun' → weekday numbers (Monday = 0)."""
    parts: list[str] = []
    for entry in value if isinstance(value, list) else [value]:
        parts.extend(p.strip().lower() for p in str(entry).split(",") if p.strip())
    if not parts:
        raise vol.Invalid("expected at least one day")
    days: set[int] = set()
    for part in parts:
        if "-" in part:
            first, _, last = part.partition("-")
            if first[:3] not in DAY_NAMES or last[:3] not in DAY_NAMES:
                raise vol.Invalid(f"unknown day range {part!r} (use e.g. 'mon-fri')")
            start, end = DAY_NAMES.index(first[:3]), DAY_NAMES.index(last[:3])
            index = start
            while True:
                days.add(index)
                if index == end:
                    break
                index = (index + 1) % 7
        elif part in _DAY_ALIASES:
            days.update(_DAY_ALIASES[part])
        else:
            raise vol.Invalid(f"unknown day {part!r} (use mon..sun, weekdays, weekend, daily or a range like mon-fri)")
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class Window:
    """Weekdays (Monday = 0) and a [start, end) range in minutes after local midnight."""

    days: frozenset[int]
    start: int = 0
    end: int = MINUTES_PER_DAY

    def contains(self, moment: datetime) -> bool:
        minute = moment.hour * 60 + moment.minute
        weekday = moment.weekday()
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        # Wraps past midnight: the evening part on a listed day, the morning part the day after.
        if weekday in self.days and minute >= self.start:
            return True
        previous = (moment - timedelta(days=1)).weekday()
        return previous in self.days and minute < self.end

    def describe(self) -> str:
        days = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


WINDOW_SCHEMA = vol.Schema(
    {
        vol.Optional("days", default="daily"): parse_days,
        vol.Optional("from", default="00:00"): parse_time,
        vol.Optional("to", default="24:00"): parse_time,
    }
)


def build_window(data: dict[str, Any]) -> Window:
    return Window(days=data["days"], start=data["from"], end=data["to"])


def in_schedule(windows: tuple[Window, ...], moment: datetime) -> bool:
    """No windows means always."""
    return not windows or any(window.contains(moment) for window in windows)
