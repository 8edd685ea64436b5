"""Core objects: bus, states, services and the hub's task tracking, on a real event loop."""

from __future__ import annotations

import asyncio

import pytest
import voluptuous as vol

from streamops.core import (
    EVENT_STATE_CHANGED,
    MATCH_ALL,
    Context,
    Event,
    Hub,
    HubKey,
    InvalidEntityId,
    ServiceCall,
    ServiceNotFound,
    ServiceValidationError,
    SupportsResponse,
)


async def test_listeners_sync_async_filter_and_unsubscribe(hub: Hub) -> None:
    sync_seen: list[Event] = []
    async_seen: list[Event] = []
    filtered: list[Event] = []

    async def on_async(event: Event) -> None:
        await asyncio.sleep(0)
        async_seen.append(event)

    unsub = hub.bus.async_listen("rec", sync_seen.append)
    hub.bus.async_listen("rec", on_async)
    hub.bus.async_listen("rec", filtered.append, event_filter=lambda e: e.data.get("keep") is True)
    hub.bus.async_fire("rec", {"keep": True})
    hub.bus.async_fire("rec", {"keep": False})
    await hub.async_block_till_done()
    assert len(sync_seen) == 2 and len(async_seen) == 2 and len(filtered) == 1
    unsub()
    hub.bus.async_fire("rec", {"keep": True})
    await hub.async_block_till_done()
    assert len(sync_seen) == 2 and len(async_seen) == 3


async def test_match_all_once_and_ordering(hub: Hub) -> None:
    everything: list[str] = []
    once: list[str] = []
    hub.bus.async_listen(MATCH_ALL, lambda e: everything.append(e.event_type))
    hub.bus.async_listen_once("a", lambda e: once.append(e.event_type))
    for event_type in ("a", "b", "a"):
        hub.bus.async_fire(event_type)
    await hub.async_block_till_done()
    assert everything == ["a", "b", "a"]
    assert once == ["a"]
    assert "a" not in hub.bus.async_listeners()


async def test_listener_error_does_not_stop_others(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    hub.bus.async_listen("x", broken)
    hub.bus.async_listen("x", lambda e: seen.append(1))
    hub.bus.async_fire("x")
    await hub.async_block_till_done()
    assert seen == [1]
    assert "boom" in caplog.text


async def test_events_fired_by_listeners_are_delivered_in_order(hub: Hub) -> None:
    order: list[str] = []
    hub.bus.async_listen("first", lambda e: (order.append("first"), hub.bus.async_fire("second")))
    hub.bus.async_listen("second", lambda e: order.append("second"))
    hub.bus.async_fire("first")
    hub.bus.async_fire("third")
    hub.bus.async_listen("third", lambda e: order.append("third"))
    await hub.async_block_till_done()
    # "third" was fired before its listener existed: not delivered to it.
    assert order == ["first", "second"]


async def test_state_changed_only_on_real_change(hub: Hub) -> None:
    changes: list[Event] = []
    hub.bus.async_listen(EVENT_STATE_CHANGED, changes.append)
    first = hub.states.async_set("sensor.queue", "1", {"unit": "jobs"})
    hub.states.async_set("sensor.queue", "1", {"unit": "jobs"})  # no change: no event
    await asyncio.sleep(0.01)
    second = hub.states.async_set("sensor.queue", "1", {"unit": "jobs", "extra": 1})  # attributes only
    third = hub.states.async_set("sensor.queue", "2")  # attributes kept
    await hub.async_block_till_done()
    assert len(changes) == 3
    assert changes[0].data["old_state"] is None
    assert second.last_changed == first.last_changed and second.last_updated > first.last_updated
    assert third.last_changed > first.last_changed and third.attributes["extra"] == 1
    hub.states.async_set("sensor.queue", "2", force_update=True)
    await hub.async_block_till_done()
    assert len(changes) == 4


async def test_state_validation_and_listing(hub: Hub) -> None:
    with pytest.raises(InvalidEntityId):
        hub.states.async_set("Not An Id", "x")
    hub.states.async_set("sensor.a", "1")
    hub.states.async_set("switch.b", "on")
    assert [s.entity_id for s in hub.states.async_all("switch")] == ["switch.b"]
    assert hub.states.get("SENSOR.A") is not None
    assert hub.states.async_remove("sensor.a") and hub.states.get("sensor.a") is None
    wire = hub.states.get("switch.b").as_dict()
    assert wire["state"] == "on" and wire["last_changed"].endswith("+00:00")


async def test_services_schema_response_and_errors(hub: Hub) -> None:
    calls: list[ServiceCall] = []

    async def handler(call: ServiceCall) -> dict[str, object]:
        calls.append(call)
        return {"doubled": call.data["value"] * 2}

    hub.services.async_register(
        "test",
        "double",
        handler,
        vol.Schema({vol.Required("value"): int}),
        supports_response=SupportsResponse.OPTIONAL,
    )
    ctx = Context(user_id="u1")
    assert await hub.services.async_call("test", "double", {"value": 2}, context=ctx, return_response=True) == {
        "doubled": 4
    }
    assert calls[0].context is ctx
    assert await hub.services.async_call("test", "double", {"value": 3}) is None
    with pytest.raises(ServiceValidationError, match="value"):
        await hub.services.async_call("test", "double", {"value": "x"})
    with pytest.raises(ServiceNotFound, match=r"media\.remux not available"):
        await hub.services.async_call("media", "remux", {})
    # A dry run never executes a service that cannot plan itself.
    plan = await hub.services.async_call("test", "double", {"value": 5}, dry_run=True)
    assert plan == {"dry_run": True, "would_call": "test.double", "data": {"value": 5}}
    assert len(calls) == 2


async def test_non_blocking_call_and_block_till_done(hub: Hub) -> None:
    done = asyncio.Event()

    async def slow(call: ServiceCall) -> None:
        await asyncio.sleep(0.01)
        done.set()

    hub.services.async_register("test", "slow", slow)
    assert await hub.services.async_call("test", "slow", blocking=False) is None
    await asyncio.wait_for(done.wait(), 5)


async def test_typed_hub_data_and_stop_callbacks(hub: Hub) -> None:
    key: HubKey[list[int]] = HubKey("numbers")
    hub.data[key] = [1]
    assert hub.data[key] == [1] and hub.data.get(HubKey("other"), 5) == 5
    stopped: list[str] = []

    async def stop_async() -> None:
        stopped.append("async")

    hub.async_on_stop(lambda: stopped.append("sync"))
    hub.async_on_stop(stop_async)
    await hub.async_stop()
    assert stopped == ["async", "sync"]


async def test_allowed_paths(hub: Hub, tmp_path) -> None:
    drive = tmp_path / "drive"
    (drive / "Recordings").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (drive / "escape").symlink_to(tmp_path / "outside")
    hub.config.allowed_dirs.append(drive)
    assert hub.config.is_allowed_path(drive / "Recordings" / "a.mkv")
    assert not hub.config.is_allowed_path(drive / ".." / "outside" / "a.mkv")
    assert not hub.config.is_allowed_path(drive / "escape" / "a.mkv")


async def test_stop_from_a_tracked_task_does_not_cancel_itself(hub: Hub) -> None:
    # What the SIGTERM handler does: the stop runs as one of the hub's own background tasks.
    hub.async_create_background_task(asyncio.Event().wait(), "forever")
    stopper = hub.async_create_background_task(hub.async_stop(), "stop")
    await asyncio.wait_for(hub.stopped.wait(), 5)
    assert stopper.done() and not stopper.cancelled()
