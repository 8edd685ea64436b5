"""The Recorder: state and event history in SQLite, state restore at start-up, purge, traces, settings.

Every event reaches `_on_event`, a sync listener that only appends to a bounded in-memory queue: the
bus never waits for the disk. A background task commits the queue every `commit_interval` seconds (or
sooner when a batch fills), one transaction per batch. When the queue is full, history is dropped
(one warning per overflow episode) but the latest state of every entity is still tracked, so what
start-up restores is never lost to an overflow. A `kill -9` loses at most the last interval's
history and never the database (WAL; each batch commits or not at all).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import voluptuous as vol

from ..core import EVENT_STATE_CHANGED, MATCH_ALL, Event, Hub, ServiceCall, State, SupportsResponse, Unsubscribe
from ..helpers.redact import redact
from . import history, settings, traces
from .database import Database
from .history import PreparedBatch

_LOGGER = logging.getLogger(__name__)

DOMAIN = "recorder"
SERVICE_PURGE = "purge"

# Internal events with no history value or a rate that would drown the table. service_registered /
# service_removed flood start-up and reloads; time_changed is a per-second tick; job_progress is fired
# several times a second per running job (its outcome is recorded by job_finished / job_failed).
DEFAULT_EXCLUDE_EVENT_TYPES = frozenset({"service_registered", "service_removed", "time_changed", "job_progress"})

DEFAULT_MAX_QUEUE = 50_000  # rows held in memory at most (about 25 MB of typical events)
DEFAULT_BATCH_SIZE = 5_000  # a full batch is committed at once instead of waiting for the interval
PURGE_INTERVAL = 24 * 3600.0
PURGE_FIRST_DELAY = 15 * 60.0  # not during start-up, when everything else is busy too
MAX_BATCH_ATTEMPTS = 3  # a batch that fails this often is dropped (logged), so one bad row cannot wedge history

PURGE_SCHEMA = vol.Schema({vol.Optional("keep_days"): vol.All(vol.Coerce(int), vol.Range(min=0))})


class Recorder:
    """Writes history, restores states, purges old rows; the façade the API and automations call."""

    def __init__(
        self,
        hub: Hub,
        db: Database,
        config: dict[str, Any],
        *,
        max_queue: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.hub = hub
        self.db = db
        self.config = config
        self.commit_interval = float(config.get("commit_interval", 1.0))
        self.purge_keep_days = int(config.get("purge_keep_days", 10))
        self.exclude_event_types = DEFAULT_EXCLUDE_EVENT_TYPES | set(config.get("exclude_event_types", ()))
        self.max_queue = int(max_queue or config.get("max_queue") or DEFAULT_MAX_QUEUE)
        self.batch_size = min(int(batch_size or DEFAULT_BATCH_SIZE), self.max_queue)
        if self.max_queue < 1:
            raise ValueError(f"recorder: max_queue must be at least 1 (got {self.max_queue})")

        self._states: list[State] = []
        self._events: list[Event] = []
        self._latest: dict[str, State | None] = {}
        self._queued = 0
        self._pending: deque[PreparedBatch] = deque()  # prepared, not yet committed
        self._next_state_id = 1
        self._commit_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._overflowing = False
        self._unsub: Unsubscribe | None = None
        self._commit_task: asyncio.Task[None] | None = None

        # Counters for /metrics and tests.
        self.dropped = 0
        self.committed_states = 0
        self.committed_events = 0
        self.commits = 0
        self.last_commit_seconds = 0.0

    @property
    def queued(self) -> int:
        """Rows waiting in memory for the next commit."""
        return self._queued

    # -- life cycle ------------------------------------------------------------------------------
    async def async_start(self) -> None:
        """Restore states, then record. Called during setup, before any integration sets a state."""
        self._next_state_id = await history.next_state_id(self.db)
        restored = await history.load_current_states(self.db)
        self.hub.states.async_restore(restored)
        _LOGGER.info("Restored %d states from %s", len(restored), self.db.path)
        self._unsub = self.hub.bus.async_listen(MATCH_ALL, self._on_event)
        self._commit_task = self.hub.async_create_background_task(self._commit_loop(), "recorder commit")
        self.hub.async_create_background_task(self._purge_loop(), "recorder purge")
        self.hub.services.async_register(
            DOMAIN,
            SERVICE_PURGE,
            self._handle_purge,
            PURGE_SCHEMA,
            supports_response=SupportsResponse.OPTIONAL,
            supports_dry_run=True,
            description="Delete state and event history older than keep_days (never an entity's latest state).",
            fields={"keep_days": {"description": "Days of history to keep (default: purge_keep_days)", "example": 10}},
        )

    async def async_stop(self) -> None:
        """Stop listening and write everything still queued (stop callbacks of later components ran first)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self._stopping = True
        self._wake.set()
        if self._commit_task is not None and not self._commit_task.done():
            try:
                await self._commit_task
            except asyncio.CancelledError:
                pass
        await self.flush()

    # -- the listener: must stay cheap, it sees every event --------------------------------------
    def _on_event(self, event: Event) -> None:
        event_type = event.event_type
        if event_type == EVENT_STATE_CHANGED and self._is_state_change(event.data):
            new_state = event.data["new_state"]
            self._latest[event.data["entity_id"]] = new_state
            if new_state is None:
                return
            if self._queued >= self.max_queue:
                self._drop()
                return
            self._states.append(new_state)
        elif event_type in self.exclude_event_types:
            return
        else:
            if self._queued >= self.max_queue:
                self._drop()
                return
            self._events.append(event)
        self._queued += 1
        if self._queued == self.batch_size:
            self._wake.set()

    @staticmethod
    def _is_state_change(data: Any) -> bool:
        """True for the state machine's own shape; a hand-fired `state_changed` is kept as a plain event."""
        new_state = data.get("new_state")
        if isinstance(new_state, State):
            return new_state.entity_id == data.get("entity_id")
        return new_state is None and isinstance(data.get("old_state"), State)

    def _drop(self) -> None:
        self.dropped += 1
        if not self._overflowing:
            self._overflowing = True
            _LOGGER.warning(
                "Recorder queue full (%d rows): dropping history until the database catches up"
                " (latest states are still kept)",
                self.max_queue,
            )
        self._wake.set()

    # -- committing ------------------------------------------------------------------------------
    async def _commit_loop(self) -> None:
        while not self._stopping:
            try:
                async with asyncio.timeout(self.commit_interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                break
            try:
                await self._commit()
            except Exception:
                # Never let one bad batch stop history for good; the next tick starts afresh.
                _LOGGER.exception("Recorder commit failed")

    async def flush(self) -> None:
        """Commit everything fired before this call (waits for a commit already running)."""
        await asyncio.sleep(0)  # let the bus deliver events fired in this same tick
        await self._commit()

    async def _commit(self) -> None:
        async with self._commit_lock:
            if not await self._write_pending():
                return  # the database refuses writes: keep what is prepared, let the queue cap hold
            if not self._queued and not self._latest:
                return
            states, events, latest = self._states, self._events, self._latest
            self._states, self._events, self._latest = [], [], {}
            self._queued = 0
            dropped_before = self.dropped
            batches, self._next_state_id = await asyncio.to_thread(
                history.prepare_batches, states, events, latest, self._next_state_id, self.batch_size
            )
            self._pending.extend(batches)
            if await self._write_pending() and self._overflowing:
                self._overflowing = False
                _LOGGER.warning("Recorder caught up; %d history rows were dropped in total", dropped_before)

    async def _write_pending(self) -> bool:
        """Write prepared batches in order, one transaction each; False if one failed (kept for retry).

        Memory stays bounded: new rows are only prepared once everything prepared before is written.
        """
        while self._pending:
            batch = self._pending[0]
            started = time.monotonic()
            try:
                async with self.db.transaction() as conn:
                    await history.write_batch(conn, batch)
            except Exception as err:
                batch.failures += 1
                if batch.failures < MAX_BATCH_ATTEMPTS:
                    _LOGGER.warning("Recorder commit failed (will retry): %s", err)
                    return False
                _LOGGER.error(
                    "Recorder dropped a batch of %d rows after %d failed commits: %s", batch.size, batch.failures, err
                )
                self.dropped += batch.size
            else:
                self.commits += 1
                self.committed_states += len(batch.state_rows)
                self.committed_events += len(batch.event_rows)
                self.last_commit_seconds = time.monotonic() - started
            self._pending.popleft()
        return True

    # -- purge -----------------------------------------------------------------------------------
    async def _purge_loop(self) -> None:
        await asyncio.sleep(PURGE_FIRST_DELAY)
        while True:
            try:
                await self.purge()
            except Exception:
                _LOGGER.exception("Scheduled history purge failed")
            await asyncio.sleep(PURGE_INTERVAL)

    async def purge(self, keep_days: int | None = None, *, dry_run: bool = False) -> dict[str, int]:
        """Delete history older than keep_days (default purge_keep_days), never an entity's latest state.

        Returns how many state and event rows were (or, with dry_run, would be) deleted.
        """
        days = self.purge_keep_days if keep_days is None else keep_days
        if days < 0:
            raise ValueError(f"purge: keep_days must be 0 or more (got {days})")
        cutoff = time.time() - days * 86400
        await self.flush()  # so "latest" in the database is the latest there is
        return await history.purge_before(self.db, cutoff, dry_run=dry_run)

    async def _handle_purge(self, call: ServiceCall) -> dict[str, Any]:
        keep_days = call.data.get("keep_days")
        counts = await self.purge(keep_days, dry_run=call.dry_run)
        days = self.purge_keep_days if keep_days is None else keep_days
        return {**({"dry_run": True} if call.dry_run else {}), "keep_days": days, **counts}

    # -- history ---------------------------------------------------------------------------------
    async def get_history(self, entity_id: str, start: float, end: float | None = None) -> list[dict[str, Any]]:
        """An entity's states from `start` to `end` (now when None), oldest first.

        The first item is the state in force at `start` (with its own, earlier timestamps) when one
        was recorded. Items: entity_id, state, attributes, last_changed, last_updated (float epoch
        seconds) and context_id. Pending rows are committed first, so the answer is up to date.
        """
        if end is not None and end < start:
            raise ValueError(f"get_history: end ({end}) is before start ({start})")
        await self.flush()
        return await history.query_history(self.db, entity_id.lower(), float(start), end)

    async def get_events(
        self, start: float, end: float | None = None, event_types: list[str] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Recorded events between start and end, oldest first (event_type, data, origin, time_fired, context_id)."""
        if end is not None and end < start:
            raise ValueError(f"get_events: end ({end}) is before start ({start})")
        await self.flush()
        return await history.query_events(self.db, float(start), end, event_types, limit)

    # -- traces ----------------------------------------------------------------------------------
    async def save_trace(
        self,
        automation_id: str,
        run_id: str,
        started: float,
        finished: float | None,
        state: str,
        trigger: Any,
        trace: Any,
        error: str | None = None,
        keep: int = traces.DEFAULT_KEEP,
    ) -> None:
        """Store (or update, same run_id) a run's trace and keep only the newest `keep` of the automation."""
        # Traces hold every step's rendered service data: secrets are masked before they are stored.
        await traces.save_trace(
            self.db, automation_id, run_id, started, finished, state, redact(trigger), redact(trace), error, keep
        )

    async def get_traces(self, automation_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first: id, automation_id, run_id, started, finished, state, trigger, trace, error."""
        return await traces.get_traces(self.db, automation_id, limit)

    async def get_trace(self, automation_id: str, run_id: str) -> dict[str, Any] | None:
        return await traces.get_trace(self.db, automation_id, run_id)

    # -- settings (so_configs) -------------------------------------------------------------------
    async def get_setting(self, key: str, default: Any = None) -> Any:
        return await settings.get_setting(self.db, key, default)

    async def set_setting(self, key: str, value: Any) -> None:
        """Persist a UI setting (plain JSON only; ValueError names the key otherwise)."""
        await settings.set_setting(self.db, key, value)

    async def delete_setting(self, key: str) -> bool:
        return await settings.delete_setting(self.db, key)

    async def get_settings(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """{key: {"value": ..., "updated": ts}} for every key starting with prefix."""
        return await settings.get_settings(self.db, prefix)

    def stats(self) -> dict[str, float | int]:
        """Counters for /metrics."""
        return {
            "queued": self._queued,
            "dropped": self.dropped,
            "commits": self.commits,
            "committed_states": self.committed_states,
            "committed_events": self.committed_events,
            "last_commit_seconds": self.last_commit_seconds,
        }
