"""The event bus: every integration, automation and API client meets here.

Dispatch is batched: `async_fire` appends to a queue and one loop callback drains it, so firing costs
a lookup and an append, and draining calls sync listeners directly. Home Assistant schedules one
`call_soon` per listener per event; avoiding that is most of the speed-up measured in
benchmarks/bench_bus.py.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from .context import Context

_LOGGER = logging.getLogger(__name__)

MATCH_ALL = "*"

EventListener = Callable[["Event"], Any]
EventFilter = Callable[["Event"], bool]
Unsubscribe = Callable[[], None]


class Event:
    """One thing that happened. `context` is created on first access when the firer gave none."""

    __slots__ = ("_context", "data", "event_type", "origin", "time_fired")

    def __init__(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        origin: str = "LOCAL",
        time_fired: float | None = None,
        context: Context | None = None,
    ) -> None:
        self.event_type = event_type
        self.data: Mapping[str, Any] = data if data is not None else {}
        self.origin = origin
        self.time_fired = time_fired if time_fired is not None else time.time()
        self._context = context

    @property
    def context(self) -> Context:
        if self._context is None:
            self._context = Context()
        return self._context

    @property
    def given_context(self) -> Context | None:
        """The context the firer passed, without creating one (the recorder stores ids only if real)."""
        return self._context

    def as_dict(self) -> dict[str, Any]:
        """Home Assistant's wire shape of an event (used by the REST and WebSocket APIs)."""
        from .util import iso_utc

        return {
            "event_type": self.event_type,
            "data": _jsonable(self.data),
            "origin": self.origin,
            "time_fired": iso_utc(self.time_fired),
            "context": self.context.as_dict(),
        }

    def __repr__(self) -> str:
        return f"<Event {self.event_type} {dict(self.data)!r}>"


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        as_dict = getattr(value, "as_dict", None)
        out[key] = as_dict() if as_dict is not None else value
    return out


class _Listener:
    __slots__ = ("callback", "done", "event_filter", "is_coro", "once")

    def __init__(self, callback: EventListener, event_filter: EventFilter | None, once: bool) -> None:
        self.callback = callback
        self.event_filter = event_filter
        self.once = once
        self.done = False
        self.is_coro = inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(
            getattr(callback, "__call__", None)  # noqa: B004 - async callable objects
        )


class EventBus:
    """Fire events and listen for them by type; `MATCH_ALL` listeners see every event."""

    def __init__(self, loop: asyncio.AbstractEventLoop, create_task: Callable[[Coroutine[Any, Any, Any]], Any]):
        self._loop = loop
        self._create_task = create_task
        # Tuples, replaced on (un)subscribe, so dispatch never copies and never sees a mutation.
        self._listeners: dict[str, tuple[_Listener, ...]] = {}
        self._match_all: tuple[_Listener, ...] = ()
        self._pending: deque[tuple[Event, tuple[_Listener, ...]]] = deque()
        self._scheduled = False

    @property
    def pending(self) -> int:
        """Events fired but not yet delivered (used by block_till_done)."""
        return len(self._pending)

    def async_listeners(self) -> dict[str, int]:
        counts = {etype: len(listeners) for etype, listeners in self._listeners.items() if listeners}
        if self._match_all:
            counts[MATCH_ALL] = len(self._match_all)
        return counts

    def async_fire(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        origin: str = "LOCAL",
        context: Context | None = None,
        time_fired: float | None = None,
    ) -> Event | None:
        """Queue an event for delivery; returns it (None when nobody listens, to save the allocation)."""
        listeners = self._listeners.get(event_type, ())
        if self._match_all:
            listeners = listeners + self._match_all if listeners else self._match_all
        if not listeners:
            return None
        event = Event(event_type, data, origin, time_fired, context)
        self._pending.append((event, listeners))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._drain)
        return event

    def _drain(self) -> None:
        pending = self._pending
        # Events fired by listeners during this drain are delivered in the same pass, in order.
        while pending:
            event, listeners = pending.popleft()
            for listener in listeners:
                if listener.event_filter is not None:
                    try:
                        if not listener.event_filter(event):
                            continue
                    except Exception:
                        _LOGGER.exception("Event filter for %s failed", event.event_type)
                        continue
                if listener.once:
                    # Events already queued still hold this listener: deliver to it only once.
                    if listener.done:
                        continue
                    listener.done = True
                    self._remove(event.event_type, listener)
                if listener.is_coro:
                    self._create_task(self._run_coro(listener.callback, event))
                    continue
                try:
                    result = listener.callback(event)
                except Exception:
                    _LOGGER.exception("Error in listener %r for %s", listener.callback, event.event_type)
                    continue
                if inspect.isawaitable(result):
                    self._create_task(self._await(result, event))
        self._scheduled = False

    async def _run_coro(self, callback: EventListener, event: Event) -> None:
        try:
            await callback(event)
        except Exception:
            _LOGGER.exception("Error in listener %r for %s", callback, event.event_type)

    async def _await(self, awaitable: Any, event: Event) -> None:
        try:
            await awaitable
        except Exception:
            _LOGGER.exception("Error in listener for %s", event.event_type)

    def async_listen(
        self,
        event_type: str,
        listener: EventListener,
        event_filter: EventFilter | None = None,
    ) -> Unsubscribe:
        """Call `listener(event)` for each event of this type; returns a function that unsubscribes."""
        return self._add(event_type, _Listener(listener, event_filter, False))

    def async_listen_once(
        self, event_type: str, listener: EventListener, event_filter: EventFilter | None = None
    ) -> Unsubscribe:
        """Like async_listen, but only for the first matching event."""
        return self._add(event_type, _Listener(listener, event_filter, True))

    def _add(self, event_type: str, entry: _Listener) -> Unsubscribe:
        if event_type == MATCH_ALL:
            self._match_all = (*self._match_all, entry)
        else:
            self._listeners[event_type] = (*self._listeners.get(event_type, ()), entry)

        def remove() -> None:
            self._remove(event_type, entry)

        return remove

    def _remove(self, event_type: str, entry: _Listener) -> None:
        if event_type == MATCH_ALL or entry in self._match_all:
            self._match_all = tuple(item for item in self._match_all if item is not entry)
            if event_type == MATCH_ALL:
                return
        current = self._listeners.get(event_type)
        if current is None:
            return
        remaining = tuple(item for item in current if item is not entry)
        if remaining:
            self._listeners[event_type] = remaining
        else:
            del self._listeners[event_type]
