"""Time rules for when a job may start: retry backoff and the optional active-hours window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import voluptuous as vol

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: object) -> dtime:
    """'01:00' → time(1, 0); a clear vol.Invalid otherwise (used in the config schema)."""
    if isinstance(value, dtime):
        return value
    if isinstance(value, int) and 0 <= value < 24 * 60:  # YAML 1.1 reads 01:00 as sexagesimal 60
        return dtime(value // 60, value % 60)
    match = _HHMM.match(str(value).strip())
    if not match:
        raise vol.Invalid(f"expected a time of day HH:MM, got {value!r}")
    return dtime(int(match.group(1)), int(match.group(2)))


def backoff_delay(attempt: int, base: float, maximum: float) -> float:
    """Exponential backoff after failed attempt number `attempt` (1-based): base, 2·base, 4·base, … ≤ maximum."""
    return float(min(maximum, base * (2 ** max(0, attempt - 1))))


@dataclass(frozen=True)
class ActiveHours:
    """A daily window (may cross midnight, e.g. 22:00–06:00) in which heavy jobs may start."""

    start: dtime
    end: dtime
    time_zone: str = "UTC"

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def _tz(self) -> ZoneInfo | None:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return None

    def _local(self, timestamp: float) -> datetime:
        tz = self._tz()
        return datetime.fromtimestamp(timestamp, tz) if tz else datetime.fromtimestamp(timestamp).astimezone()

    def contains(self, timestamp: float) -> bool:
        now = self._local(timestamp).time()
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def next_start(self, timestamp: float) -> float:
        """The next moment the window opens (the timestamp itself when already inside)."""
        if self.contains(timestamp):
            return timestamp
        local = self._local(timestamp)
        candidate = local.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate.timestamp()
