"""Entity states: the current value of everything StreamOps knows, with change tracking."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .bus import EventBus
from .context import Context
from .util import iso_utc, split_entity_id, valid_entity_id

EVENT_STATE_CHANGED = "state_changed"
STATE_UNAVAILABLE = "unavailable"
STATE_UNKNOWN = "unknown"
STATE_ON = "on"
STATE_OFF = "off"


class InvalidEntityId(ValueError):
    """An entity id that is not `domain.object_id` in lower-case slug form."""


class State:
    """An immutable snapshot of one entity.

    `last_changed` moves only when the state string changes; `last_updated` moves on any change
    (state or attributes) — the distinction Home Assistant users rely on in `for:` triggers.
    """

    __slots__ = ("attributes", "context", "domain", "entity_id", "last_changed", "last_updated", "object_id", "state")

    def __init__(
        self,
        entity_id: str,
        state: str,
        attributes: Mapping[str, Any] | None = None,
        last_changed: float | None = None,
        last_updated: float | None = None,
        context: Context | None = None,
    ) -> None:
        now = time.time()
        self.entity_id = entity_id
        self.domain, self.object_id = split_entity_id(entity_id)
        self.state = state
        self.attributes: Mapping[str, Any] = MappingProxyType(dict(attributes or {}))
        self.last_updated = last_updated if last_updated is not None else now
        self.last_changed = last_changed if last_changed is not None else self.last_updated
        self.context = context

    @property
    def name(self) -> str:
        return str(self.attributes.get("friendly_name") or self.object_id.replace("_", " "))

    def as_dict(self) -> dict[str, Any]:
        """Home Assistant's wire shape of a state."""
        return {
            "entity_id": self.entity_id,
            "state": self.state,
            "attributes": dict(self.attributes),
            "last_changed": iso_utc(self.last_changed),
            "last_updated": iso_utc(self.last_updated),
            "context": (self.context or Context(id="")).as_dict(),
        }

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, State)
            and self.entity_id == other.entity_id
            and self.state == other.state
            and self.attributes == other.attributes
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<State {self.entity_id}={self.state}>"


class StateMachine:
    """Holds the current State of every entity and fires `state_changed` on a real change."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._states: dict[str, State] = {}

    def get(self, entity_id: str) -> State | None:
        return self._states.get(entity_id.lower())

    def is_state(self, entity_id: str, state: str) -> bool:
        current = self._states.get(entity_id)
        return current is not None and current.state == state

    def async_all(self, domain: str | tuple[str, ...] | None = None) -> list[State]:
        if domain is None:
            return list(self._states.values())
        domains = (domain,) if isinstance(domain, str) else domain
        return [state for state in self._states.values() if state.domain in domains]

    def async_entity_ids(self, domain: str | None = None) -> list[str]:
        return [state.entity_id for state in self.async_all(domain)]

    def __len__(self) -> int:
        return len(self._states)

    def async_set(
        self,
        entity_id: str,
        new_state: Any,
        attributes: Mapping[str, Any] | None = None,
        force_update: bool = False,
        context: Context | None = None,
    ) -> State:
        """Set an entity's state; a no-op (no event) when neither state nor attributes changed."""
        entity_id = entity_id.lower()
        new_state = str(new_state)
        if len(new_state) > 255:
            raise ValueError(f"state of {entity_id} longer than 255 characters")
        old = self._states.get(entity_id)
        if old is None:
            if not valid_entity_id(entity_id):
                raise InvalidEntityId(f"invalid entity id {entity_id!r}: expected domain.object_id")
            same_state = same_attrs = False
        else:
            same_state = old.state == new_state
            same_attrs = attributes is None or old.attributes == attributes
            if same_state and same_attrs and not force_update:
                return old
        if attributes is None:
            attributes = old.attributes if old is not None else {}
        now = time.time()
        state = State(
            entity_id,
            new_state,
            attributes,
            last_changed=old.last_changed if (old is not None and same_state) else now,
            last_updated=now,
            context=context,
        )
        self._states[entity_id] = state
        self._bus.async_fire(
            EVENT_STATE_CHANGED,
            {"entity_id": entity_id, "old_state": old, "new_state": state},
            context=context,
            time_fired=now,
        )
        return state

    def async_restore(self, states: list[State]) -> None:
        """Put states saved by the recorder back without firing events (start-up only)."""
        for state in states:
            self._states.setdefault(state.entity_id, state)

    def async_remove(self, entity_id: str, context: Context | None = None) -> bool:
        old = self._states.pop(entity_id.lower(), None)
        if old is None:
            return False
        self._bus.async_fire(
            EVENT_STATE_CHANGED, {"entity_id": old.entity_id, "old_state": old, "new_state": None}, context=context
        )
        return True
