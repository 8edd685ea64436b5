"""State and event history: turning queued states/events into rows, writing a batch, reading back.

A drained queue is prepared off the event loop (`prepare_batches` is pure and runs in a worker
thread: State objects are immutable and events are not changed after firing) and written as one
transaction per batch.
State row ids are assigned here, not by SQLite, so that `so_states_current` — the latest row of every
entity, which restore reads and purge never deletes — is updated in the same transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import aiosqlite

from ..core import EVENT_CALL_SERVICE, Context, Event, State
from ..core.util import valid_entity_id
from ..helpers.redact import redact
from .database import Database
from .serialize import dumps, loads

_LOGGER = logging.getLogger(__name__)

PURGE_CHUNK = 10_000

INSERT_STATE = (
    "INSERT INTO so_states (state_id, entity_id, state, attributes, last_changed, last_updated, context_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_CURRENT = (
    "INSERT INTO so_states_current (entity_id, state_id) VALUES (?, ?)"
    " ON CONFLICT (entity_id) DO UPDATE SET state_id = excluded.state_id"
)
DELETE_CURRENT = "DELETE FROM so_states_current WHERE entity_id = ?"
INSERT_EVENT = "INSERT INTO so_events (event_type, data, origin, time_fired, context_id) VALUES (?, ?, ?, ?, ?)"

_STATE_COLUMNS = "entity_id, state, attributes, last_changed, last_updated, context_id"


@dataclass(slots=True)
class PreparedBatch:
    """Rows for one transaction, in the order they are applied.

    `current_rows` only point at rows of this same batch, so whichever batches of a queue commit
    (a crash may stop between two), so_states_current never points at a row that was not written.
    """

    state_rows: list[tuple[Any, ...]] = field(default_factory=list)
    current_rows: list[tuple[str, int]] = field(default_factory=list)
    removed: list[tuple[str]] = field(default_factory=list)
    event_rows: list[tuple[Any, ...]] = field(default_factory=list)
    failures: int = 0

    @property
    def size(self) -> int:
        return len(self.state_rows) + len(self.event_rows)


class _AttributesJson:
    """JSON of an entity's attributes, reused while they stay equal (most changes are state-only)."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, tuple[Mapping[str, Any], str]] = {}

    def __call__(self, state: State) -> str:
        attributes = state.attributes
        if not attributes:
            return "{}"
        cached = self._last.get(state.entity_id)
        if cached is not None and (cached[0] is attributes or cached[0] == attributes):
            return cached[1]
        # A plain dict encodes in C without the default() round trip a MappingProxyType takes.
        encoded = dumps(attributes.copy() if isinstance(attributes, MappingProxyType) else attributes)
        self._last[state.entity_id] = (attributes, encoded)
        return encoded


def _state_row(state_id: int, state: State, attributes_json: str) -> tuple[Any, ...]:
    context = state.context
    return (
        state_id,
        state.entity_id,
        state.state,
        attributes_json,
        state.last_changed,
        state.last_updated,
        context.id if context is not None else None,
    )


def _event_row(event: Event) -> tuple[Any, ...]:
    # Read the context only if the firer gave one: `event.context` would create (and pay for) a new id.
    context = event.given_context
    # Service data is rendered from !secret values and templates: never store a secret in history.
    data = redact(event.data) if event.event_type == EVENT_CALL_SERVICE else event.data
    return (
        event.event_type,
        dumps(data),
        event.origin,
        event.time_fired,
        context.id if context is not None else None,
    )


def prepare_batches(
    states: list[State],
    events: list[Event],
    latest: dict[str, State | None],
    next_state_id: int,
    batch_size: int,
) -> tuple[list[PreparedBatch], int]:
    """Build the transactions for one drained queue; returns them and the next free state id.

    Runs in a worker thread. Each transaction holds at most about `batch_size` rows, so a burst
    never holds the shared connection for long. `latest` holds the newest state of every entity
    changed since the last drain (None = removed), including changes whose history was dropped on
    queue overflow: such a state is written as an extra history row, so the current state is never
    lost even when history is.
    """
    attributes_json = _AttributesJson()
    batches: list[PreparedBatch] = []
    last_written: dict[str, State] = {}
    for offset in range(0, len(states), batch_size):
        batch = PreparedBatch()
        current: dict[str, int] = {}
        for state in states[offset : offset + batch_size]:
            batch.state_rows.append(_state_row(next_state_id, state, attributes_json(state)))
            current[state.entity_id] = next_state_id
            last_written[state.entity_id] = state
            next_state_id += 1
        batch.current_rows = list(current.items())
        batches.append(batch)
    for offset in range(0, len(events), batch_size):
        batches.append(PreparedBatch(event_rows=[_event_row(event) for event in events[offset : offset + batch_size]]))
    tail = PreparedBatch()
    for entity_id, state in latest.items():
        if state is None:
            tail.removed.append((entity_id,))
        elif last_written.get(entity_id) is not state:
            tail.state_rows.append(_state_row(next_state_id, state, attributes_json(state)))
            tail.current_rows.append((entity_id, next_state_id))
            next_state_id += 1
    if tail.state_rows or tail.removed:
        batches.append(tail)
    return batches, next_state_id


async def write_batch(conn: aiosqlite.Connection, batch: PreparedBatch) -> None:
    """Apply one prepared batch inside the caller's transaction."""
    if batch.state_rows:
        await conn.executemany(INSERT_STATE, batch.state_rows)
    if batch.current_rows:
        await conn.executemany(UPSERT_CURRENT, batch.current_rows)
    if batch.removed:
        await conn.executemany(DELETE_CURRENT, batch.removed)
    if batch.event_rows:
        await conn.executemany(INSERT_EVENT, batch.event_rows)


async def next_state_id(db: Database) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(state_id), 0) + 1 AS next_id FROM so_states")
    return int(row["next_id"]) if row is not None else 1


# -- restore ---------------------------------------------------------------------------------------
async def load_current_states(db: Database) -> list[State]:
    """The latest recorded State of every entity, with its original timestamps and context id."""
    rows = await db.fetchall(
        f"SELECT {', '.join('s.' + c for c in _STATE_COLUMNS.split(', '))}"
        " FROM so_states_current AS c JOIN so_states AS s ON s.state_id = c.state_id"
    )
    states: list[State] = []
    for row in rows:
        entity_id = row["entity_id"]
        if not valid_entity_id(entity_id):
            _LOGGER.warning("Not restoring %r: not a valid entity id", entity_id)
            continue
        try:
            attributes = loads(row["attributes"], {})
        except ValueError as err:
            _LOGGER.warning("Restoring %s without attributes: stored attributes are not JSON (%s)", entity_id, err)
            attributes = {}
        states.append(
            State(
                entity_id,
                row["state"],
                attributes if isinstance(attributes, dict) else {},
                last_changed=row["last_changed"],
                last_updated=row["last_updated"],
                context=Context(id=row["context_id"]) if row["context_id"] else None,
            )
        )
    return states


# -- queries ---------------------------------------------------------------------------------------
def _state_dict(row: Any) -> dict[str, Any]:
    return {
        "entity_id": row["entity_id"],
        "state": row["state"],
        "attributes": loads(row["attributes"], {}),
        "last_changed": row["last_changed"],
        "last_updated": row["last_updated"],
        "context_id": row["context_id"],
    }


async def query_history(db: Database, entity_id: str, start: float, end: float | None) -> list[dict[str, Any]]:
    """The state in force at `start` (if any), then every recorded change in (start, end]."""
    before = await db.fetchone(
        f"SELECT {_STATE_COLUMNS} FROM so_states WHERE entity_id = ? AND last_updated <= ?"
        " ORDER BY last_updated DESC, state_id DESC LIMIT 1",
        (entity_id, start),
    )
    if end is None:
        rows = await db.fetchall(
            f"SELECT {_STATE_COLUMNS} FROM so_states WHERE entity_id = ? AND last_updated > ?"
            " ORDER BY last_updated, state_id",
            (entity_id, start),
        )
    else:
        rows = await db.fetchall(
            f"SELECT {_STATE_COLUMNS} FROM so_states WHERE entity_id = ? AND last_updated > ? AND last_updated <= ?"
            " ORDER BY last_updated, state_id",
            (entity_id, start, end),
        )
    result = [_state_dict(before)] if before is not None else []
    result.extend(_state_dict(row) for row in rows)
    return result


async def query_events(
    db: Database, start: float, end: float | None, event_types: list[str] | None, limit: int
) -> list[dict[str, Any]]:
    """Recorded events in [start, end], oldest first, at most `limit`."""
    sql = "SELECT event_type, data, origin, time_fired, context_id FROM so_events WHERE time_fired >= ?"
    params: list[Any] = [start]
    if end is not None:
        sql += " AND time_fired <= ?"
        params.append(end)
    if event_types:
        sql += f" AND event_type IN ({', '.join('?' * len(event_types))})"
        params.extend(event_types)
    sql += " ORDER BY time_fired, event_id LIMIT ?"
    params.append(limit)
    rows = await db.fetchall(sql, params)
    return [
        {
            "event_type": row["event_type"],
            "data": loads(row["data"], {}),
            "origin": row["origin"],
            "time_fired": row["time_fired"],
            "context_id": row["context_id"],
        }
        for row in rows
    ]


# -- purge -----------------------------------------------------------------------------------------
_PURGE_STATES = (
    "DELETE FROM so_states WHERE state_id IN (SELECT state_id FROM so_states WHERE last_updated < ?"
    " AND state_id NOT IN (SELECT state_id FROM so_states_current) LIMIT ?)"
)
_PURGE_EVENTS = "DELETE FROM so_events WHERE event_id IN (SELECT event_id FROM so_events WHERE time_fired < ? LIMIT ?)"
_COUNT_STATES = (
    "SELECT COUNT(*) AS n FROM so_states WHERE last_updated < ?"
    " AND state_id NOT IN (SELECT state_id FROM so_states_current)"
)
_COUNT_EVENTS = "SELECT COUNT(*) AS n FROM so_events WHERE time_fired < ?"


async def purge_before(db: Database, cutoff: float, dry_run: bool = False) -> dict[str, int]:
    """Delete history older than `cutoff` except each entity's latest state, in short transactions.

    Chunks of PURGE_CHUNK rows keep the shared connection free for others between chunks.
    """
    if dry_run:
        states = await db.fetchone(_COUNT_STATES, (cutoff,))
        events = await db.fetchone(_COUNT_EVENTS, (cutoff,))
        return {"states": int(states["n"]) if states else 0, "events": int(events["n"]) if events else 0}
    started = time.monotonic()
    counts = {"states": 0, "events": 0}
    for key, sql in (("states", _PURGE_STATES), ("events", _PURGE_EVENTS)):
        while True:
            deleted = await db.execute(sql, (cutoff, PURGE_CHUNK))
            counts[key] += deleted
            if deleted < PURGE_CHUNK:
                break
    _LOGGER.info(
        "Purged %d states and %d events older than %s in %.2f s",
        counts["states"],
        counts["events"],
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(cutoff)),
        time.monotonic() - started,
    )
    return counts
