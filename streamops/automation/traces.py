"""The last N traces per automation: in memory always, in SQLite when the recorder is there.

Memory answers the API instantly and works without a database (tests, `simulate`); the recorder's
`save_trace` keeps them across restarts (table so_traces, owned by the recorder), and `get_traces`
serves them after a restart when memory has none yet.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from ..core import Hub
from ..script.trace import RunTrace

_LOGGER = logging.getLogger(__name__)


def _recorder(hub: Hub) -> Any:
    try:
        from ..recorder import RECORDER
    except ImportError:
        return None
    recorder = hub.data.get(RECORDER)
    return recorder if recorder is not None and hasattr(recorder, "save_trace") else None


class TraceStore:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._traces: dict[str, deque[dict[str, Any]]] = {}

    def add(self, automation_id: str, trace: RunTrace, keep: int) -> None:
        """Remember a finished trace, and persist it in the background when the recorder exists."""
        data = trace.as_dict()
        queue = self._traces.get(automation_id)
        if queue is None or queue.maxlen != keep:
            queue = self._traces[automation_id] = deque(queue or (), maxlen=keep)
        queue.append(data)
        recorder = _recorder(self.hub)
        if recorder is not None and not trace.dry_run:
            self.hub.async_create_task(self._save(recorder, automation_id, trace, data, keep))

    async def _save(self, recorder: Any, automation_id: str, trace: RunTrace, data: dict[str, Any], keep: int) -> None:
        try:
            await recorder.save_trace(
                automation_id,
                trace.run_id,
                trace.started,
                trace.finished,
                trace.state,
                data["trigger"],
                data,
                trace.error,
                keep=keep,
            )
        except Exception:
            _LOGGER.exception("Could not store the trace of automation %s", automation_id)

    async def get(self, automation_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        memory = list(self._traces.get(automation_id, ()))[::-1][:limit]
        recorder = _recorder(self.hub)
        if recorder is None or not hasattr(recorder, "get_traces"):
            return memory
        try:
            stored = await recorder.get_traces(automation_id, limit)
        except Exception:
            _LOGGER.exception("Could not read the traces of automation %s", automation_id)
            return memory
        seen = {t["run_id"] for t in memory}
        merged = memory + [_unwrap(t) for t in stored if _unwrap(t).get("run_id") not in seen]
        merged.sort(key=lambda t: t.get("started") or 0, reverse=True)
        return merged[:limit]

    def forget(self, automation_id: str) -> None:
        self._traces.pop(automation_id, None)


def _unwrap(row: Any) -> dict[str, Any]:
    """A stored trace as the API shows it (the recorder may return the row or the trace dict)."""
    if isinstance(row, dict) and "steps" not in row and isinstance(row.get("trace"), dict):
        return {**row["trace"], "run_id": row.get("run_id", row["trace"].get("run_id"))}
    return dict(row) if isinstance(row, dict) else {"trace": row}
