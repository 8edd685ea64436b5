"""Shared trackers over the bus, so cost does not grow with the number of trackers.

`async_track_state_change_event` keeps one `state_changed` listener per hub and a dict from entity
id to callbacks: an event costs one dict lookup whether 1 or 10,000 automations track states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core import EVENT_STATE_CHANGED, Event, Hub, HubKey, Unsubscribe

StateChangeCallback = Callable[[Event], Any]


class _StateTrackers:
    def __init__(self, hub: Hub) -> None:
        self.by_entity: dict[str, list[StateChangeCallback]] = {}
        self._hub = hub
        self._unsub: Unsubscribe | None = None

    def add(self, entity_ids: Iterable[str], action: StateChangeCallback) -> Unsubscribe:
        ids = [entity_id.lower() for entity_id in entity_ids]
        for entity_id in ids:
            self.by_entity.setdefault(entity_id, []).append(action)
        if self._unsub is None:
            self._unsub = self._hub.bus.async_listen(EVENT_STATE_CHANGED, self._dispatch, event_filter=self._wanted)

        def remove() -> None:
            for entity_id in ids:
                callbacks = self.by_entity.get(entity_id)
                if callbacks and action in callbacks:
                    callbacks.remove(action)
                    if not callbacks:
                        del self.by_entity[entity_id]
            if not self.by_entity and self._unsub is not None:
                self._unsub()
                self._unsub = None

        return remove

    def _wanted(self, event: Event) -> bool:
        return event.data["entity_id"] in self.by_entity

    def _dispatch(self, event: Event) -> None:
        for action in tuple(self.by_entity.get(event.data["entity_id"], ())):
            result = action(event)
            if result is not None and hasattr(result, "__await__"):
                self._hub.async_create_task(result)


_TRACKERS: HubKey[_StateTrackers] = HubKey("helpers.state_trackers")


def async_track_state_change_event(
    hub: Hub, entity_ids: str | Iterable[str], action: StateChangeCallback
) -> Unsubscribe:
    """Call `action(event)` for each `state_changed` of the given entities; returns an unsubscribe."""
    trackers = hub.data.get(_TRACKERS)
    if trackers is None:
        trackers = hub.data[_TRACKERS] = _StateTrackers(hub)
    return trackers.add([entity_ids] if isinstance(entity_ids, str) else entity_ids, action)
