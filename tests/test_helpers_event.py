"""The shared state tracker: one bus listener, dispatch by entity id."""

from __future__ import annotations

from streamops.core import Event, Hub
from streamops.helpers.event import async_track_state_change_event


async def test_tracker_dispatches_by_entity_and_unsubscribes(hub: Hub) -> None:
    seen: list[str] = []
    unsub_a = async_track_state_change_event(hub, "sensor.a", lambda e: seen.append("a:" + e.data["new_state"].state))

    async def on_b(event: Event) -> None:
        seen.append("b:" + event.data["new_state"].state)

    async_track_state_change_event(hub, ["sensor.b", "sensor.c"], on_b)
    hub.states.async_set("sensor.a", "1")
    hub.states.async_set("sensor.b", "2")
    hub.states.async_set("sensor.z", "3")
    await hub.async_block_till_done()
    assert sorted(seen) == ["a:1", "b:2"]
    unsub_a()
    hub.states.async_set("sensor.a", "4")
    await hub.async_block_till_done()
    assert "a:4" not in seen
