"""Recorder on a real SQLite file: batching, restore across restarts, purge, overflow, traces, settings."""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_recorder import count_rows, db_file, restart, start_recorder, wait_until

from streamops.core import EVENT_STATE_CHANGED, Context, Hub, ServiceValidationError, State
from streamops.recorder import RECORDER, Database
from streamops.recorder.serialize import dumps, loads

MIGRATIONS = Path(__file__).resolve().parent.parent / "streamops" / "recorder" / "migrations"


def record_state(hub: Hub, entity_id: str, value: str, ts: float) -> None:
    """Fire a state_changed with a State from the past (as if recorded then)."""
    hub.bus.async_fire(
        EVENT_STATE_CHANGED,
        {"entity_id": entity_id, "old_state": None, "new_state": State(entity_id, value, last_updated=ts)},
    )


async def test_schema_has_the_core_tables_and_the_exact_token_table(tmp_path: Path) -> None:
    db = Database(tmp_path / "only-recorder.db")
    await db.open()
    try:
        await db.migrate([("recorder", MIGRATIONS)])
        rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'so_%'")
        tables = {row["name"] for row in rows}
        columns = await db.fetchall(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('so_tokens')"
        )
        unique = await db.fetchall("SELECT name FROM pragma_index_list('so_tokens') WHERE \"unique\" = 1")
    finally:
        await db.close()
    assert tables == {
        "so_schema",
        "so_states",
        "so_states_current",
        "so_events",
        "so_traces",
        "so_tokens",
        "so_configs",
        "so_sessions",
        "so_rules",
        "so_overlays",
        "so_overlay_impressions",
        "so_reports",
    }
    assert [tuple(row) for row in columns] == [
        ("id", "INTEGER", 0, None, 1),
        ("name", "TEXT", 1, None, 0),
        ("token_hash", "TEXT", 1, None, 0),
        ("kind", "TEXT", 1, "'user'", 0),
        ("created", "REAL", 1, None, 0),
        ("last_used", "REAL", 0, None, 0),
        ("revoked", "INTEGER", 1, "0", 0),
    ]
    assert len(unique) == 1  # token_hash UNIQUE


async def test_history_is_committed_in_one_transaction_per_batch(hub: Hub) -> None:
    recorder = await start_recorder(hub, commit_interval=60)
    for i in range(500):
        hub.states.async_set(f"sensor.s{i % 5}", i)
    await hub.async_block_till_done()
    assert recorder.queued == 500
    assert count_rows(db_file(hub), "so_states") == 0  # nothing written before the batch

    statements: list[str] = []
    await recorder.db.conn.set_trace_callback(statements.append)
    await recorder.flush()
    await recorder.db.conn.set_trace_callback(None)

    assert count_rows(db_file(hub), "so_states") == 500
    assert count_rows(db_file(hub), "so_states_current") == 5
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("COMMIT") == 1
    assert recorder.queued == 0 and recorder.commits == 1


async def test_a_burst_is_split_into_batches_each_consistent_on_its_own(hub: Hub) -> None:
    recorder = await start_recorder(hub, commit_interval=60, batch_size=100)
    for i in range(350):
        hub.states.async_set(f"sensor.b{i % 3}", i)
    for i in range(120):
        hub.bus.async_fire("obs_marker", {"i": i})
    await hub.async_block_till_done()
    statements: list[str] = []
    await recorder.db.conn.set_trace_callback(statements.append)
    await recorder.flush()
    await recorder.db.conn.set_trace_callback(None)
    # 4 transactions of states (100+100+100+50) and 2 of events (100+20): the shared connection is
    # free between them, and each moves so_states_current only to rows it wrote itself.
    assert statements.count("BEGIN IMMEDIATE") == 6 and statements.count("COMMIT") == 6
    assert count_rows(db_file(hub), "so_states") == 350 and count_rows(db_file(hub), "so_events") == 120
    new_hub, _ = await restart(hub)
    try:
        assert [new_hub.states.get(f"sensor.b{k}").state for k in range(3)] == ["348", "349", "347"]  # type: ignore[union-attr]
    finally:
        await new_hub.async_stop()


async def test_commit_loop_writes_every_interval_without_flush(hub: Hub) -> None:
    await start_recorder(hub, commit_interval=0.05)
    for i in range(50):
        hub.states.async_set("sensor.tick", i)

    async def all_written() -> bool:
        return count_rows(db_file(hub), "so_states") == 50

    await wait_until(all_written, what="50 states committed by the commit loop")


async def test_states_restored_after_restart_with_original_timestamps(hub: Hub) -> None:
    await start_recorder(hub)
    first = hub.states.async_set("sensor.obs_scene", "Gameplay", {"friendly_name": "Scene"}, context=Context())
    context = Context(user_id="owner")
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    # Attributes only: last_changed stays at the first set, last_updated moves.
    second = hub.states.async_set(
        "sensor.obs_scene",
        "Gameplay",
        {"friendly_name": "Scene", "file": Path("/rec/a.mkv"), "when": when},
        context=context,
    )
    hub.states.async_set("sensor.gone", "1")
    hub.states.async_remove("sensor.gone")
    hub.states.async_set("binary_sensor.obs_recording", "on")
    await hub.async_block_till_done()

    new_hub, recorder = await restart(hub)
    try:
        restored = new_hub.states.get("sensor.obs_scene")
        assert restored is not None
        assert restored.state == "Gameplay"
        assert restored.last_changed == first.last_changed
        assert restored.last_updated == second.last_updated
        assert dict(restored.attributes) == {"friendly_name": "Scene", "file": "/rec/a.mkv", "when": when.isoformat()}
        assert restored.context is not None and restored.context.id == context.id
        assert new_hub.states.get("binary_sensor.obs_recording").state == "on"  # type: ignore[union-attr]
        assert new_hub.states.get("sensor.gone") is None  # removed entities stay removed

        # Recording goes on after a restart (state ids continue, restore itself records nothing).
        new_hub.states.async_set("sensor.obs_scene", "Just Chatting")
        history = await recorder.get_history("sensor.obs_scene", 0)
        assert [item["state"] for item in history] == ["Gameplay", "Gameplay", "Just Chatting"]
    finally:
        await new_hub.async_stop()


async def test_get_history_window_starts_with_the_state_in_force(hub: Hub) -> None:
    recorder = await start_recorder(hub)
    for value, ts in (("a", 1000.0), ("b", 2000.0), ("c", 3000.0), ("d", 4000.0)):
        record_state(hub, "sensor.w", value, ts)
    record_state(hub, "sensor.other", "z", 2500.0)

    window = await recorder.get_history("sensor.w", 2500.0, 3500.0)
    assert [(item["state"], item["last_updated"]) for item in window] == [("b", 2000.0), ("c", 3000.0)]
    assert [item["state"] for item in await recorder.get_history("sensor.w", 0)] == ["a", "b", "c", "d"]
    assert [item["state"] for item in await recorder.get_history("sensor.w", 4500.0)] == ["d"]
    assert await recorder.get_history("sensor.unknown", 0) == []
    with pytest.raises(ValueError, match="before start"):
        await recorder.get_history("sensor.w", 10.0, 5.0)


async def test_events_recorded_except_excluded_types(hub: Hub) -> None:
    recorder = await start_recorder(hub, exclude_event_types=["overlay_heartbeat"])
    context = Context()
    hub.bus.async_fire("obs_marker", {"label": "clutch", "file": Path("/rec/a.mkv")}, context=context)
    hub.bus.async_fire("overlay_heartbeat", {"n": 1})
    hub.services.async_register("test", "noop", lambda call: None)  # fires service_registered
    await hub.services.async_call("test", "noop", {"x": 1})
    hub.states.async_set("sensor.not_an_event", "1")

    events = await recorder.get_events(0)
    types = [event["event_type"] for event in events]
    assert "overlay_heartbeat" not in types  # excluded by config
    assert "service_registered" not in types  # excluded by default
    assert EVENT_STATE_CHANGED not in types  # lives in so_states
    marker = next(event for event in events if event["event_type"] == "obs_marker")
    assert marker["data"] == {"label": "clutch", "file": "/rec/a.mkv"}
    assert marker["context_id"] == context.id
    call = next(event for event in events if event["event_type"] == "call_service")
    assert call["data"]["service_data"] == {"x": 1}
    assert [e["event_type"] for e in await recorder.get_events(0, event_types=["obs_marker"])] == ["obs_marker"]


async def test_purge_deletes_old_history_but_never_an_entitys_latest_state(hub: Hub) -> None:
    recorder = await start_recorder(hub)
    old = time.time() - 40 * 86400
    record_state(hub, "sensor.a", "1", old)
    record_state(hub, "sensor.a", "2", old + 1)
    record_state(hub, "sensor.a", "3", old + 2)  # old, but the latest of sensor.a: kept
    record_state(hub, "sensor.b", "x", old)
    hub.states.async_set("sensor.b", "y")
    hub.bus.async_fire("obs_marker", {"n": 1}, time_fired=old)
    hub.bus.async_fire("obs_marker", {"n": 2})

    plan = await hub.services.async_call("recorder", "purge", {"keep_days": 10}, dry_run=True)
    assert plan == {"dry_run": True, "keep_days": 10, "states": 3, "events": 1}
    assert count_rows(db_file(hub), "so_states") == 5  # a dry run deletes nothing

    result = await hub.services.async_call("recorder", "purge", {"keep_days": 10}, return_response=True)
    assert result == {"keep_days": 10, "states": 3, "events": 1}
    assert [item["state"] for item in await recorder.get_history("sensor.a", 0)] == ["3"]
    assert [item["state"] for item in await recorder.get_history("sensor.b", 0)] == ["y"]
    assert [e["data"]["n"] for e in await recorder.get_events(0, event_types=["obs_marker"])] == [2]

    with pytest.raises(ServiceValidationError, match="keep_days"):
        await hub.services.async_call("recorder", "purge", {"keep_days": -1})

    # keep_days=0 empties history except the latest states, which still restore.
    await recorder.purge(0)
    assert count_rows(db_file(hub), "so_states") == 2
    new_hub, _ = await restart(hub)
    try:
        restored = new_hub.states.get("sensor.a")
        assert restored is not None and restored.state == "3" and restored.last_updated == old + 2
    finally:
        await new_hub.async_stop()


async def test_scheduled_purge_uses_purge_keep_days(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamops.recorder import recorder as recorder_module

    monkeypatch.setattr(recorder_module, "PURGE_FIRST_DELAY", 0.05)
    await start_recorder(hub, purge_keep_days=3)
    old = time.time() - 5 * 86400
    record_state(hub, "sensor.p", "old", old)
    record_state(hub, "sensor.p", "older-but-latest", old + 1)
    record_state(hub, "sensor.q", "recent", time.time() - 2 * 86400)

    async def purged() -> bool:
        return count_rows(db_file(hub), "so_states") == 2

    await wait_until(purged, what="the scheduled purge")


async def test_queue_overflow_drops_history_warns_once_and_keeps_latest(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streamops.recorder")
    recorder = await start_recorder(hub, max_queue=100, commit_interval=60)
    started = time.perf_counter()
    for i in range(1000):
        hub.states.async_set("sensor.fast", i)
    for i in range(10):
        hub.bus.async_fire("obs_marker", {"i": i})
    await hub.async_block_till_done()
    elapsed = time.perf_counter() - started

    assert recorder.queued <= 100  # bounded, whatever the rate
    assert recorder.dropped == 910
    full = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(full) == 1 and full[0].levelno == logging.WARNING
    assert elapsed < 2.0  # the bus never waited for the disk

    await recorder.flush()
    # 100 queued rows plus the latest state, written although its history row was dropped.
    assert count_rows(db_file(hub), "so_states") == 101
    assert "caught up; 910 history rows were dropped" in caplog.text
    history = await recorder.get_history("sensor.fast", 0)
    assert history[-1]["state"] == "999"

    # A later overflow is a new episode with its own (single) warning.
    for i in range(300):
        hub.states.async_set("sensor.fast", 1000 + i)
    await hub.async_block_till_done()
    assert len([r for r in caplog.records if "queue full" in r.getMessage()]) == 2

    new_hub, _ = await restart(hub)
    try:
        assert new_hub.states.get("sensor.fast").state == "1299"  # type: ignore[union-attr]
    finally:
        await new_hub.async_stop()


async def test_failed_commit_is_retried_without_losing_rows(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="streamops.recorder")
    recorder = await start_recorder(hub, commit_interval=60)
    await recorder.db.execute("PRAGMA busy_timeout=50")
    hub.states.async_set("sensor.r", "1")
    await hub.async_block_till_done()
    with closing(sqlite3.connect(db_file(hub), isolation_level=None)) as other_process:
        other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
        await recorder.flush()
        assert "commit failed (will retry)" in caplog.text
        assert count_rows(db_file(hub), "so_states") == 0
        hub.states.async_set("sensor.r", "2")
        await hub.async_block_till_done()
        other_process.execute("ROLLBACK")
    await recorder.flush()
    assert [item["state"] for item in await recorder.get_history("sensor.r", 0)] == ["1", "2"]
    assert recorder.dropped == 0


async def test_traces_keep_only_the_last_n_per_automation(db_hub: Hub) -> None:
    recorder = db_hub.data[RECORDER]
    for i in range(7):
        await recorder.save_trace(
            "remux_on_stop", f"run{i}", 1000.0 + i, 1000.5 + i, "finished", {"trigger": "event"}, {"steps": [i]}, keep=5
        )
    await recorder.save_trace("other", "r1", 1.0, None, "running", {"trigger": "state"}, {}, None, keep=5)

    traces = await recorder.get_traces("remux_on_stop", limit=10)
    assert [t["run_id"] for t in traces] == ["run6", "run5", "run4", "run3", "run2"]
    assert traces[0]["trace"] == {"steps": [6]} and traces[0]["trigger"] == {"trigger": "event"}
    assert traces[0]["started"] == 1006.0 and traces[0]["finished"] == 1006.5
    assert len(await recorder.get_traces("remux_on_stop", limit=2)) == 2

    # The same run saved again (running → error) is updated, not duplicated.
    await recorder.save_trace("other", "r1", 1.0, 2.0, "error", {"trigger": "state"}, {"steps": []}, "boom", keep=5)
    trace = await recorder.get_trace("other", "r1")
    assert trace is not None and trace["state"] == "error" and trace["error"] == "boom"
    assert len(await recorder.get_traces(limit=100)) == 6
    assert await recorder.get_trace("other", "missing") is None
    with pytest.raises(ValueError, match="keep must be at least 1"):
        await recorder.save_trace("other", "r2", 3.0, None, "running", {}, {}, None, keep=0)


async def test_settings_round_trip_and_refuse_non_json(db_hub: Hub) -> None:
    recorder = db_hub.data[RECORDER]
    assert await recorder.get_setting("jobs.gpu_guard_pct", 90) == 90
    await recorder.set_setting("jobs.gpu_guard_pct", 75)
    await recorder.set_setting("jobs.pause_when_recording", False)
    await recorder.set_setting("ui.theme", {"dark": True, "accent": "#8a2be2"})
    assert await recorder.get_setting("jobs.gpu_guard_pct") == 75
    assert await recorder.get_setting("jobs.pause_when_recording") is False
    assert set(await recorder.get_settings("jobs.")) == {"jobs.gpu_guard_pct", "jobs.pause_when_recording"}
    assert (await recorder.get_settings("ui."))["ui.theme"]["value"] == {"dark": True, "accent": "#8a2be2"}
    assert await recorder.get_settings("JOBS.") == {}  # prefixes are exact, not LIKE patterns
    with pytest.raises(ValueError, match=r"setting 'ui\.path'.*not JSON"):
        await recorder.set_setting("ui.path", Path("/x"))
    assert await recorder.delete_setting("ui.theme") is True
    assert await recorder.delete_setting("ui.theme") is False


class _Hostile:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_history_json_never_fails() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    state = State("sensor.x", "1", last_updated=5.0)
    encoded = dumps(
        {"state": state, ("tuple", "key"): 1, "set": {3}, "cycle": cycle, "bytes": b"ab", "bad": _Hostile()}
    )
    decoded = loads(encoded)
    assert decoded["state"]["state"] == "1"
    assert decoded["('tuple', 'key')"] == 1
    assert decoded["set"] == [3] and decoded["bytes"] == "ab"
    assert decoded["cycle"] == ["<cycle>"]
    assert decoded["bad"] == "<unserialisable _Hostile: RuntimeError>"


async def test_hand_fired_state_changed_is_kept_as_a_plain_event(hub: Hub) -> None:
    recorder = await start_recorder(hub)
    hub.states.async_set("sensor.kept", "1")
    # What a client could POST to /api/events/state_changed: not the state machine's shape.
    hub.bus.async_fire(EVENT_STATE_CHANGED, {"entity_id": "sensor.kept", "new_state": None})
    hub.bus.async_fire(EVENT_STATE_CHANGED, {"new_state": {"state": "x"}})
    events = await recorder.get_events(0, event_types=[EVENT_STATE_CHANGED])
    assert [event["data"] for event in events] == [
        {"entity_id": "sensor.kept", "new_state": None},
        {"new_state": {"state": "x"}},
    ]
    new_hub, _ = await restart(hub)
    try:
        assert new_hub.states.get("sensor.kept") is not None  # the fake removal removed nothing
    finally:
        await new_hub.async_stop()
