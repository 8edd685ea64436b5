"""`so_remote_jobs`: which attempt went to NATS, who ran it, and its first final result.

The first final result of `(job_id, attempt)` wins; a redelivered job that reports again is a
duplicate and is ignored. A restarted hub finds here the attempts it had dispatched (it re-attaches
instead of sending a second copy) and the results that arrived while no runner waited.
"""

from __future__ import annotations

import json
import time
from typing import Any

from streamops.recorder import Database

FINAL = ("done", "error", "rejected")


class RemoteJobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, job_id: int, attempt: int) -> dict[str, Any] | None:
        row = await self.db.fetchone(
            "SELECT job_id, attempt, type, seq, worker, status, result, error, retry, deliveries, dispatched,"
            " started, finished FROM so_remote_jobs WHERE job_id = ? AND attempt = ?",
            (job_id, attempt),
        )
        if row is None:
            return None
        item = dict(row)
        if item["result"]:
            item["result"] = json.loads(item["result"])
        item["retry"] = bool(item["retry"])
        return item

    async def dispatched(self, job_id: int, attempt: int, job_type: str, seq: int | None) -> None:
        await self.db.execute(
            "INSERT INTO so_remote_jobs (job_id, attempt, type, seq, dispatched) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (job_id, attempt) DO UPDATE SET seq = COALESCE(excluded.seq, seq)",
            (job_id, attempt, job_type, seq, time.time()),
        )

    async def started(self, job_id: int, attempt: int, job_type: str, worker: str, delivered: int) -> None:
        await self.db.execute(
            "INSERT INTO so_remote_jobs (job_id, attempt, type, worker, status, deliveries, dispatched, started)"
            " VALUES (:job_id, :attempt, :type, :worker, 'running', :delivered, :now, :now)"
            " ON CONFLICT (job_id, attempt) DO UPDATE SET worker = :worker, status = 'running',"
            " deliveries = MAX(deliveries, :delivered), started = :now WHERE status IN ('dispatched', 'running')",
            {
                "job_id": job_id,
                "attempt": attempt,
                "type": job_type,
                "worker": worker,
                "delivered": delivered,
                "now": time.time(),
            },
        )

    async def finished(self, message: dict[str, Any], job_type: str) -> bool:
        """Record a final result; False when this attempt already had one (a duplicate)."""
        now = time.time()
        params = {
            "job_id": message["job_id"],
            "attempt": message["attempt"],
            "type": job_type,
            "worker": message["worker"],
            "status": message["kind"],
            "result": None if message.get("result") is None else json.dumps(message["result"]),
            "error": message.get("error"),
            "retry": int(bool(message.get("retry", True))),
            "delivered": int(message.get("delivered") or 1),
            "now": now,
        }
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO so_remote_jobs (job_id, attempt, type, dispatched) VALUES"
                " (:job_id, :attempt, :type, :now)",
                params,
            )
            cursor = await conn.execute(
                "UPDATE so_remote_jobs SET worker = :worker, status = :status, result = :result, error = :error,"
                " retry = :retry, deliveries = MAX(deliveries, :delivered), finished = :now"
                " WHERE job_id = :job_id AND attempt = :attempt AND status IN ('dispatched', 'running')",
                params,
            )
            changed = cursor.rowcount
            await cursor.close()
        return bool(changed)

    async def history(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT job_id, attempt, type, worker, status, deliveries, dispatched, started, finished"
            " FROM so_remote_jobs ORDER BY dispatched DESC LIMIT ?",
            (limit,),
        )
        return [dict(row) for row in rows]
