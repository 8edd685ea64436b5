"""The rotator's choice: which item a slot shows next.

Pure logic with the time passed in, so the hub's timer and the tests drive the same code.

- Only items whose `schedule:` contains the current local time are eligible.
- `max_share_per_hour` caps an item's planned time on screen in any rolling hour: an item is
  eligible only if its planned seconds in the last hour plus its next turn stay within the cap.
- Among eligible items, smooth weighted round-robin (nginx's algorithm) picks: weights 2:1 give
  A A B, spread out (A B A), deterministically — a sponsor paying for twice the time gets twice
  the turns, without the streaks and droughts random picks produce.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, tzinfo

from .manifest_schema import Item
from .schedule import in_schedule

SHARE_WINDOW = 3600.0


class Rotator:
    """Chooses the next item for one slot and remembers what it planned (for the hourly cap)."""

    def __init__(self, items: list[Item], tz: tzinfo, share_window: float = SHARE_WINDOW) -> None:
        self.items = items
        self.tz = tz
        self.share_window = share_window
        self._current_weight: dict[str, float] = {item.id: 0.0 for item in items}
        # (start, end, item id) of planned turns, wall-clock seconds, oldest first.
        self._planned: deque[tuple[float, float, str]] = deque()

    def planned_seconds(self, item_id: str, now: float) -> float:
        """Seconds this item was planned on screen within the last `share_window` seconds."""
        since = now - self.share_window
        while self._planned and self._planned[0][1] <= since:
            self._planned.popleft()
        return sum(min(end, now) - max(start, since) for start, end, i in self._planned if i == item_id and end > since)

    def eligible(self, now: float) -> list[Item]:
        moment = datetime.fromtimestamp(now, self.tz)
        found = []
        for item in self.items:
            if not in_schedule(item.schedule, moment):
                continue
            if item.max_share is not None:
                budget = item.max_share * self.share_window
                if self.planned_seconds(item.id, now) + item.duration > budget + 1e-6:
                    continue
            found.append(item)
        return found

    def choose(self, now: float) -> Item | None:
        """The next item (its turn is recorded as planned from `now`), or None when none may run."""
        candidates = self.eligible(now)
        if not candidates:
            return None
        total = 0.0
        best: Item | None = None
        for item in candidates:
            self._current_weight[item.id] = self._current_weight.get(item.id, 0.0) + item.weight
            total += item.weight
            if best is None or self._current_weight[item.id] > self._current_weight[best.id]:
                best = item
        assert best is not None
        self._current_weight[best.id] -= total
        self._planned.append((now, now + best.duration, best.id))
        return best

    def cut_short(self, item_id: str, now: float) -> None:
        """The current turn ended early (overlay.next, hide): count only the time it really had."""
        if self._planned and self._planned[-1][2] == item_id and self._planned[-1][1] > now:
            start, _, _ = self._planned.pop()
            if now > start:
                self._planned.append((start, now, item_id))
