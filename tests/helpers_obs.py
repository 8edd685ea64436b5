"""Helpers for the OBS tests: waiting on bus events and states, setting up the integration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from streamops.core import Event, Hub, State


async def setup_obs(hub: Hub, config: Any) -> None:
    from integrations.obs import CONFIG_SCHEMA, async_setup

    assert await async_setup(hub, CONFIG_SCHEMA(config))


def obs_config(port: int, password: str | None = "secret", **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "password": password, "reconnect_max": 1, **extra}


class EventWaiter:
    """Collects events of one type from now on; `await waiter.next(pred)` returns the first match."""

    def __init__(self, hub: Hub, event_type: str) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._unsub = hub.bus.async_listen(event_type, self._on_event)

    async def _on_event(self, event: Event) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def next(self, predicate: Callable[[Event], bool] = lambda e: True, timeout: float = 5.0) -> Event:
        seen = 0
        async with asyncio.timeout(timeout):
            async with self._changed:
                while True:
                    for event in self.events[seen:]:
                        if predicate(event):
                            self.events.remove(event)
                            return event
                    seen = len(self.events)
                    await self._changed.wait()

    def close(self) -> None:
        self._unsub()


async def wait_state(hub: Hub, entity_id: str, predicate: Callable[[State], bool] | str, timeout: float = 5.0) -> State:
    """Wait until the entity's state satisfies predicate (or equals the given string)."""
    check = (lambda s: s.state == predicate) if isinstance(predicate, str) else predicate
    changed = asyncio.Event()
    unsub = hub.bus.async_listen(
        "state_changed", lambda e: changed.set(), event_filter=lambda e: e.data["entity_id"] == entity_id
    )
    try:
        async with asyncio.timeout(timeout):
            while True:
                state = hub.states.get(entity_id)
                if state is not None and check(state):
                    return state
                changed.clear()
                await changed.wait()
    except TimeoutError:
        raise AssertionError(f"{entity_id} never matched; last state: {hub.states.get(entity_id)!r}") from None
    finally:
        unsub()


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """For conditions outside the hub (the fake server's counters); polls briefly."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - counters outside the hub have no event to wait on
            await asyncio.sleep(0.02)
