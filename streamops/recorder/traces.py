"""Automation traces: what each of the last N runs of an automation did, for the trace viewer.

Saved directly (not through the history queue): a trace is written once per run, and the engine
may save a running trace and then the finished one under the same run_id (an upsert).
"""

from __future__ import annotations

from typing import Any

from .database import Database
from .serialize import dumps, loads

DEFAULT_KEEP = 5

_UPSERT = (
    "INSERT INTO so_traces (automation_id, run_id, started, finished, state, trigger, trace, error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (automation_id, run_id) DO UPDATE SET started = excluded.started,"
    " finished = excluded.finished, state = excluded.state, trigger = excluded.trigger,"
    " trace = excluded.trace, error = excluded.error"
)
_KEEP_LAST = (
    "DELETE FROM so_traces WHERE automation_id = ? AND id NOT IN"
    " (SELECT id FROM so_traces WHERE automation_id = ? ORDER BY started DESC, id DESC LIMIT ?)"
)
_COLUMNS = "id, automation_id, run_id, started, finished, state, trigger, trace, error"


async def save_trace(
    db: Database,
    automation_id: str,
    run_id: str,
    started: float,
    finished: float | None,
    state: str,
    trigger: Any,
    trace: Any,
    error: str | None,
    keep: int = DEFAULT_KEEP,
) -> None:
    if not automation_id or not run_id:
        raise ValueError("save_trace: automation_id and run_id must be non-empty")
    if keep < 1:
        raise ValueError(f"save_trace: keep must be at least 1 (got {keep})")
    async with db.transaction() as conn:
        await conn.execute(
            _UPSERT,
            (automation_id, run_id, started, finished, state, dumps(trigger), dumps(trace), error),
        )
        await conn.execute(_KEEP_LAST, (automation_id, automation_id, keep))


def _trace_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "automation_id": row["automation_id"],
        "run_id": row["run_id"],
        "started": row["started"],
        "finished": row["finished"],
        "state": row["state"],
        "trigger": loads(row["trigger"]),
        "trace": loads(row["trace"]),
        "error": row["error"],
    }


async def get_traces(db: Database, automation_id: str | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; every automation's traces when automation_id is None."""
    if automation_id is None:
        rows = await db.fetchall(f"SELECT {_COLUMNS} FROM so_traces ORDER BY started DESC, id DESC LIMIT ?", (limit,))
    else:
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM so_traces WHERE automation_id = ? ORDER BY started DESC, id DESC LIMIT ?",
            (automation_id, limit),
        )
    return [_trace_dict(row) for row in rows]


async def get_trace(db: Database, automation_id: str, run_id: str) -> dict[str, Any] | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM so_traces WHERE automation_id = ? AND run_id = ?", (automation_id, run_id)
    )
    return _trace_dict(row) if row is not None else None
