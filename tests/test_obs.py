"""The OBS integration against a real obs-websocket v5 server on loopback (tests/obs_fake_server.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integrations.obs import OBS
from integrations.obs.trigger import TRIGGERS
from streamops.core import Hub, ServiceError
from streamops.helpers.trigger_platform import TriggerInfo
from streamops.recorder import DATABASE
from tests.helpers_obs import EventWaiter, obs_config, setup_obs, wait_state, wait_until
from tests.obs_fake_server import FakeObsServer


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FakeObsServer]:
    obs = FakeObsServer(tmp_path / "rec")
    await obs.start()
    yield obs
    await obs.stop(exit_event=False)


async def connected_hub(hub: Hub, server: FakeObsServer, **extra: object) -> Hub:
    await setup_obs(hub, obs_config(server.port, **extra))
    await wait_state(hub, "binary_sensor.obs_connected", "on")
    return hub


async def test_connects_and_publishes_state(db_hub: Hub, server: FakeObsServer) -> None:
    hub = await connected_hub(db_hub, server)
    connected = hub.states.get("binary_sensor.obs_connected")
    assert connected is not None
    assert connected.attributes["obs_version"] == "30.2.3"
    assert connected.attributes["error"] is None
    assert hub.states.get("sensor.obs_scene").state == "Intro"
    assert hub.states.get("sensor.obs_profile").state == "Streaming"
    assert hub.states.get("sensor.obs_scene_collection").state == "Main"
    for entity_id in ("binary_sensor.obs_recording", "binary_sensor.obs_streaming", "binary_sensor.obs_replay_buffer"):
        assert hub.states.get(entity_id).state == "off"
    assert hub.states.get("sensor.obs_cpu_usage").state == "3.5"
    assert hub.states.get("sensor.obs_fps").state == "60.0"
    assert hub.states.get("sensor.obs_disk_space").attributes["unit_of_measurement"] == "MB"
    # Subscribed without the high-volume events (volume meters would cost OBS for nothing).
    assert server.clients[0].subscriptions & (1 << 16) == 0


async def test_recording_makes_a_session_and_reports_the_file(db_hub: Hub, server: FakeObsServer) -> None:
    hub = await connected_hub(db_hub, server)
    started, stopped = EventWaiter(hub, "obs_recording_started"), EventWaiter(hub, "obs_recording_stopped")
    await hub.services.async_call("obs", "start_record", {}, blocking=True)
    start_event = await started.next()
    assert start_event.data["scene"] == "Intro"
    assert start_event.data["instance"] == "obs"
    await wait_state(hub, "binary_sensor.obs_recording", "on")
    await server.set_scene("Gameplay")
    await wait_state(hub, "sensor.obs_scene", "Gameplay")

    response = await hub.services.async_call("obs", "stop_record", {}, blocking=True, return_response=True)
    stop_event = await stopped.next()
    path = server.state.record_path
    assert response is not None and response["output_path"] == path
    assert stop_event.data["output_path"] == path
    assert stop_event.data["reason"] == "stopped"
    assert stop_event.data["session_id"] == start_event.data["session_id"]
    assert await asyncio.to_thread(os.path.exists, path)
    await wait_state(hub, "binary_sensor.obs_recording", "off")
    assert hub.states.get("sensor.obs_record_path").state == path

    db = hub.data[DATABASE]
    row = await db.fetchone("SELECT * FROM so_sessions WHERE id = ?", (stop_event.data["session_id"],))
    assert row is not None
    assert row["obs_instance"] == "obs"
    assert row["output_path"] == path
    assert row["scene"] == "Intro" and row["profile"] == "Streaming" and row["collection"] == "Main"
    assert row["ended"] >= row["started"]
    metrics = json.loads(row["metrics"])
    assert metrics["scenes"][0]["scene"] == "Gameplay"
    assert "duration" in metrics
    files = await db.fetchall("SELECT * FROM so_obs_files WHERE session_id = ?", (row["id"],))
    assert [(f["path"], f["kind"]) for f in files] == [(path, "recording")]


async def test_recording_started_in_obs_itself(db_hub: Hub, server: FakeObsServer) -> None:
    """The streamer presses Record in OBS: StreamOps follows, and knows the file from the start."""
    hub = await connected_hub(db_hub, server)
    started, stopped = EventWaiter(hub, "obs_recording_started"), EventWaiter(hub, "obs_recording_stopped")
    path = await server.start_recording()
    assert (await started.next()).data["output_path"] == path
    await wait_state(hub, "sensor.obs_record_path", path)
    await server.stop_recording()
    assert (await stopped.next()).data["output_path"] == path


async def test_scene_changes_fire_events_and_the_obs_trigger(db_hub: Hub, server: FakeObsServer) -> None:
    hub = await connected_hub(db_hub, server)
    fired: list[dict[str, object]] = []
    config = TRIGGERS["obs"].schema({"trigger": "obs", "event": "scene_changed", "scene": "Elden*"})
    unsub = await TRIGGERS["obs"].attach(hub, config, lambda payload, ctx: fired.append(payload), TriggerInfo("a", "a"))
    changes = EventWaiter(hub, "obs_scene_changed")

    await hub.services.async_call("obs", "set_scene", {"scene": "Gameplay"}, blocking=True)
    first = await changes.next()
    assert first.data["scene"] == "Gameplay" and first.data["previous_scene"] == "Intro"
    await server.set_scene("Elden Ring")
    await changes.next(lambda e: e.data["scene"] == "Elden Ring")
    await hub.async_block_till_done()
    assert [p["scene"] for p in fired] == ["Elden Ring"]
    assert fired[0]["platform"] == "obs" and fired[0]["event"] == "scene_changed"
    unsub()

    with pytest.raises(ServiceError, match="No source was found by the name of `Nope`"):
        await hub.services.async_call("obs", "set_scene", {"scene": "Nope"}, blocking=True)


async def test_trigger_schema_rejects_unknown_events() -> None:
    import voluptuous as vol

    with pytest.raises(vol.Invalid, match="event must be one of"):
        TRIGGERS["obs"].schema({"trigger": "obs", "event": "recording_exploded"})
    assert TRIGGERS["obs"].schema({"platform": "obs", "event": "recording_stopped"})["event"] == "recording_stopped"


async def test_markers_become_chapters_where_obs_supports_them(tmp_path: Path, db_hub: Hub) -> None:
    server = FakeObsServer(tmp_path / "rec", extension="mp4")  # Hybrid MP4 takes chapters
    await server.start()
    try:
        hub = await connected_hub(db_hub, server)
        markers = EventWaiter(hub, "obs_marker")
        with pytest.raises(ServiceError, match="not recording"):
            await hub.services.async_call("obs", "add_marker", {"label": "too early"}, blocking=True)
        await hub.services.async_call("obs", "start_record", {}, blocking=True)
        await wait_state(hub, "binary_sensor.obs_recording", "on")
        result = await hub.services.async_call(
            "obs", "add_marker", {"label": "clutch"}, blocking=True, return_response=True
        )
        assert result is not None and result["chapter"] is True and result["note"] is None
        assert result["offset"] >= 0
        event = await markers.next()
        assert event.data["label"] == "clutch"
        assert server.state.chapters == ["clutch"]
        row = await hub.data[DATABASE].fetchone("SELECT markers FROM so_sessions WHERE id = ?", (result["session_id"],))
        assert [m["label"] for m in json.loads(row["markers"])] == ["clutch"]
    finally:
        await server.stop(exit_event=False)


async def test_markers_on_an_obs_without_chapters_are_recorded_and_say_so(tmp_path: Path, db_hub: Hub) -> None:
    server = FakeObsServer(tmp_path / "rec", obs_version="29.0.2", websocket_version="5.1.0", supports_chapters=False)
    await server.start()
    try:
        hub = await connected_hub(db_hub, server)
        await hub.services.async_call("obs", "start_record", {}, blocking=True)
        await wait_state(hub, "binary_sensor.obs_recording", "on")
        result = await hub.services.async_call("obs", "add_marker", {}, blocking=True, return_response=True)
        assert result is not None and result["chapter"] is False
        assert "OBS 29.0.2" in result["note"] and "30.2" in result["note"]
        assert "CreateRecordChapter" not in [name for name, _ in server.requests]
    finally:
        await server.stop(exit_event=False)


async def test_a_request_obs_does_not_know_gets_a_clear_message(tmp_path: Path, db_hub: Hub) -> None:
    server = FakeObsServer(tmp_path / "rec", obs_version="29.0.2", websocket_version="5.1.0", supports_chapters=False)
    await server.start()
    try:
        hub = await connected_hub(db_hub, server)
        with pytest.raises(ServiceError, match=r"does not support the request SplitRecordFile \(code 204"):
            await hub.services.async_call("obs", "request", {"request_type": "SplitRecordFile"}, blocking=True)
        # Still connected and working.
        assert hub.states.get("binary_sensor.obs_connected").state == "on"
        answer = await hub.services.async_call(
            "obs", "request", {"request_type": "GetSceneList"}, blocking=True, return_response=True
        )
        assert answer is not None and answer["currentProgramSceneName"] == "Intro"
    finally:
        await server.stop(exit_event=False)


async def test_wrong_password_is_named_once_and_the_hub_keeps_running(
    db_hub: Hub, server: FakeObsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="integrations.obs")
    await setup_obs(db_hub, obs_config(server.port, password="wrong"))
    state = await wait_state(db_hub, "binary_sensor.obs_connected", lambda s: bool(s.attributes.get("error")))
    assert state.state == "off"
    assert "rejected the password" in state.attributes["error"] and "4009" in state.attributes["error"]
    assert state.attributes["status"] == "auth_failed"
    await wait_until(lambda: server.auth_failures >= 2, timeout=5)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "rejected the password" in r.getMessage()]
    assert len(errors) == 1
    assert "wrong" not in caplog.text  # the password is never logged
    assert db_hub.states.get("binary_sensor.obs_recording").state == "unavailable"
    with pytest.raises(ServiceError, match="not connected"):
        await db_hub.services.async_call("obs", "start_record", {}, blocking=True)


async def test_missing_password_is_named(db_hub: Hub, server: FakeObsServer) -> None:
    await setup_obs(db_hub, obs_config(server.port, password=None))
    state = await wait_state(db_hub, "binary_sensor.obs_connected", lambda s: bool(s.attributes.get("error")))
    assert "requires a password and none is configured" in state.attributes["error"]


async def test_unreachable_host_is_logged_once(db_hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="integrations.obs")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    await setup_obs(db_hub, obs_config(port))
    state = await wait_state(db_hub, "binary_sensor.obs_connected", lambda s: bool(s.attributes.get("error")))
    assert "cannot reach OBS" in state.attributes["error"]
    data = db_hub.data[OBS]
    await wait_until(lambda: data.get().conn.attempts >= 3, timeout=6)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "No connection to" in r.getMessage()]
    assert len(warnings) == 1
    assert db_hub.states.get("sensor.obs_scene").state == "unavailable"


async def test_obs_closing_mid_recording_then_coming_back(
    db_hub: Hub, server: FakeObsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="integrations.obs")
    hub = await connected_hub(db_hub, server)
    started, stopped = EventWaiter(hub, "obs_recording_started"), EventWaiter(hub, "obs_recording_stopped")
    await hub.services.async_call("obs", "start_record", {}, blocking=True)
    session_id = (await started.next()).data["session_id"]

    # OBS goes away (crash, or the websocket server restarts) while still recording.
    port = server.port
    await server.stop()
    await wait_state(hub, "binary_sensor.obs_connected", "off")
    assert hub.states.get("binary_sensor.obs_recording").state == "unavailable"
    assert hub.states.get("sensor.obs_scene").state == "unavailable"
    with pytest.raises(ServiceError, match="not connected"):
        await hub.services.async_call("obs", "set_scene", {"scene": "Gameplay"}, blocking=True)

    await server.start(port)
    await wait_state(hub, "binary_sensor.obs_connected", "on", timeout=10)
    recording = await wait_state(hub, "binary_sensor.obs_recording", "on")
    assert recording.attributes["session_id"] == session_id  # the same session goes on
    lost = [r for r in caplog.records if "Lost OBS" in r.getMessage()]
    assert len(lost) == 1

    await server.stop_recording()
    event = await stopped.next()
    assert event.data["session_id"] == session_id
    assert event.data["output_path"] == server.state.record_path
    assert not started.events  # no second session was started


async def test_recording_that_ended_while_disconnected_is_closed(db_hub: Hub, server: FakeObsServer) -> None:
    """OBS quit mid-recording: on reconnect the session is closed as interrupted and its file (named
    when recording started) is still reported, so the post-recording automations run."""
    hub = await connected_hub(db_hub, server)
    stopped = EventWaiter(hub, "obs_recording_stopped")
    await hub.services.async_call("obs", "start_record", {}, blocking=True)
    recording = await wait_state(hub, "binary_sensor.obs_recording", "on")
    session_id = recording.attributes["session_id"]
    path = server.state.record_path
    port = server.port
    await server.stop()
    await wait_state(hub, "binary_sensor.obs_connected", "off")
    lost_at = time.time()
    server.state.recording = False  # OBS was closed: its recording ended
    await server.start(port)
    await wait_state(hub, "binary_sensor.obs_recording", "off", timeout=10)
    event = await stopped.next()
    assert event.data["reason"] == "interrupted" and event.data["output_path"] == path
    row = await hub.data[DATABASE].fetchone("SELECT ended, metrics FROM so_sessions WHERE id = ?", (session_id,))
    assert row["ended"] is not None and row["ended"] <= lost_at  # when the connection was lost
    assert json.loads(row["metrics"])["interrupted"] is True


async def test_split_and_replay_are_handled_like_a_stop(db_hub: Hub, server: FakeObsServer) -> None:
    hub = await connected_hub(db_hub, server)
    stopped, replays = EventWaiter(hub, "obs_recording_stopped"), EventWaiter(hub, "obs_replay_saved")
    first = await server.start_recording()
    await wait_state(hub, "sensor.obs_record_path", first)
    second = await server.split_recording()
    split = await stopped.next()
    assert split.data["reason"] == "split" and split.data["output_path"] == first
    assert split.data["next_path"] == second and split.data["recording"] is True
    assert hub.states.get("binary_sensor.obs_recording").state == "on"

    await server.start_replay_buffer()
    await wait_state(hub, "binary_sensor.obs_replay_buffer", "on")
    await hub.services.async_call("obs", "save_replay", {}, blocking=True)
    replay = await replays.next()
    assert Path(replay.data["output_path"]).name.startswith("Replay ")

    await server.stop_recording()
    final = await stopped.next()
    assert final.data["output_path"] == second and final.data["files"] == [first, second]
    rows = await hub.data[DATABASE].fetchall("SELECT path, kind FROM so_obs_files ORDER BY id")
    assert [(Path(r["path"]).name, r["kind"]) for r in rows] == [
        (Path(first).name, "recording"),
        (Path(replay.data["output_path"]).name, "replay"),
        (Path(second).name, "recording"),
    ]


async def test_path_variables_come_from_the_session(db_hub: Hub, server: FakeObsServer) -> None:
    from streamops.templates import async_path_variables, render_path

    hub = await connected_hub(
        db_hub, server, game_map={"scenes": {"Elden*": "Elden Ring"}, "profiles": {"Valorant": "Valorant"}}
    )
    assert hub.states.get("sensor.obs_game").state == "unknown"
    await server.set_scene("Elden Ring")
    await wait_state(hub, "sensor.obs_game", "Elden Ring")
    stopped = EventWaiter(hub, "obs_recording_stopped")
    await server.start_recording()
    await wait_state(hub, "binary_sensor.obs_recording", "on")
    await server.set_scene("Outro")  # the session keeps the scene and game it started with
    await server.stop_recording()
    path = (await stopped.next()).data["output_path"]

    variables = await async_path_variables(hub, path)
    assert (variables["Game"], variables["Scene"], variables["Profile"]) == ("Elden Ring", "Elden Ring", "Streaming")
    assert render_path("{Game}/{YYYY}", variables).startswith("Elden Ring/20")
    # A remuxed copy elsewhere keeps OBS's file name: it resolves too.
    remuxed = Path(path).parent / "edit" / (Path(path).stem + ".mov")
    assert (await async_path_variables(hub, remuxed))["Game"] == "Elden Ring"

    # set_game wins over the map, for the recording in progress too.
    await server.set_profile("Valorant")
    await wait_state(hub, "sensor.obs_game", "Valorant")  # Outro is unmapped; the profile is
    await hub.services.async_call("obs", "set_game", {"game": "Hades"}, blocking=True)
    await server.start_recording()
    await wait_state(hub, "binary_sensor.obs_recording", "on")
    await server.stop_recording()
    path2 = (await stopped.next()).data["output_path"]
    assert (await async_path_variables(hub, path2))["Game"] == "Hades"


async def test_two_obs_instances_get_their_own_entities(tmp_path: Path, db_hub: Hub, server: FakeObsServer) -> None:
    studio = FakeObsServer(tmp_path / "rec2", password="other")
    await studio.start()
    try:
        await setup_obs(
            db_hub,
            [obs_config(server.port), {**obs_config(studio.port, password="other"), "name": "Studio"}],
        )
        await wait_state(db_hub, "binary_sensor.obs_connected", "on")
        await wait_state(db_hub, "binary_sensor.obs_connected_studio", "on")
        started = EventWaiter(db_hub, "obs_recording_started")
        await db_hub.services.async_call("obs", "start_record", {"instance": "Studio"}, blocking=True)
        event = await started.next()
        assert event.data["instance"] == "Studio"
        await wait_state(db_hub, "binary_sensor.obs_recording_studio", "on")
        assert db_hub.states.get("binary_sensor.obs_recording").state == "off"
        with pytest.raises(ServiceError, match="unknown OBS instance 'nope'"):
            await db_hub.services.async_call("obs", "start_record", {"instance": "nope"}, blocking=True)
    finally:
        await studio.stop(exit_event=False)


async def test_dry_run_touches_nothing(db_hub: Hub, server: FakeObsServer) -> None:
    hub = await connected_hub(db_hub, server)
    plan = await hub.services.async_call("obs", "set_scene", {"scene": "Outro"}, blocking=True, dry_run=True)
    assert plan == {
        "dry_run": True,
        "instance": "obs",
        "request": "SetCurrentProgramScene",
        "data": {"sceneName": "Outro"},
    }
    assert "SetCurrentProgramScene" not in [name for name, _ in server.requests]


async def test_stats_are_polled_and_summarised(db_hub: Hub, server: FakeObsServer) -> None:
    hub = await connected_hub(db_hub, server, stats_interval=1)
    await hub.services.async_call("obs", "start_record", {}, blocking=True)
    await wait_state(hub, "sensor.obs_record_duration", lambda s: s.state not in ("0", "unavailable"), timeout=4)
    stopped = EventWaiter(hub, "obs_recording_stopped")
    await hub.services.async_call("obs", "stop_record", {}, blocking=True)
    session_id = (await stopped.next()).data["session_id"]
    row = await hub.data[DATABASE].fetchone("SELECT metrics FROM so_sessions WHERE id = ?", (session_id,))
    metrics = json.loads(row["metrics"])
    assert metrics["samples"] >= 1 and metrics["cpu_avg"] == 3.5 and metrics["fps_avg"] == 60.0
    assert metrics["render_skipped_frames"] == 0


async def test_finished_files_go_to_the_drives_at_once(db_hub: Hub, server: FakeObsServer) -> None:
    """With the real drives integration watching OBS's folder with a 60 s quiet window, file_closed
    for the recording and for a split part comes right after OBS's stop/split, not a minute later."""
    from integrations.drives import CONFIG_SCHEMA as DRIVES_SCHEMA
    from integrations.drives import DRIVES
    from integrations.drives import async_setup as drives_setup

    assert await drives_setup(
        db_hub, DRIVES_SCHEMA({"rec": {"path": str(server.record_dir), "min_quiet_seconds": 60, "poll": "off"}})
    )
    hub = await connected_hub(db_hub, server)
    await hub.async_start()
    await hub.data[DRIVES].async_wait_ready(15)
    closed = EventWaiter(hub, "file_closed")
    first = await server.start_recording()
    await wait_state(hub, "sensor.obs_record_path", first)
    second = await server.split_recording()
    assert (await closed.next(timeout=3)).data["path"] == first
    await server.stop_recording()
    assert (await closed.next(timeout=3)).data["path"] == second


async def test_split_without_a_known_first_file_is_not_an_error(
    db_hub: Hub, server: FakeObsServer, caplog: pytest.LogCaptureFixture
) -> None:
    """An OBS that does not name the file when recording starts: the first part is left to the drive
    watcher's quiet window (logged), the later parts are handed over as usual."""
    caplog.set_level(logging.INFO, logger="integrations.obs")
    server.path_on_start = False
    hub = await connected_hub(db_hub, server)
    stopped = EventWaiter(hub, "obs_recording_stopped")
    await server.start_recording()
    await wait_state(hub, "binary_sensor.obs_recording", "on")
    second = await server.split_recording()
    await wait_state(hub, "sensor.obs_record_path", second)
    assert "did not say the finished part's name" in caplog.text
    await server.stop_recording()
    event = await stopped.next()
    assert event.data["output_path"] == second and event.data["reason"] == "stopped"
    assert not stopped.events


async def test_a_slow_answer_times_out_without_mixing_up_later_answers(db_hub: Hub, server: FakeObsServer) -> None:
    hub = await connected_hub(db_hub, server, timeout=1.0)
    server.delays["GetSceneList"] = 1.5
    with pytest.raises(ServiceError, match=r"did not answer GetSceneList within 1 s"):
        await hub.services.async_call("obs", "request", {"request_type": "GetSceneList"}, blocking=True)
    server.delays = {"GetStats": 0.8}
    # The late GetSceneList answer arrives while this request waits: it must not be taken for it.
    answer = await hub.services.async_call(
        "obs", "request", {"request_type": "GetStats"}, blocking=True, return_response=True
    )
    assert answer is not None and "cpuUsage" in answer and "scenes" not in answer
    assert hub.states.get("binary_sensor.obs_connected").state == "on"


async def test_a_hung_obs_that_never_says_hello_is_unreachable_not_stuck(db_hub: Hub, server: FakeObsServer) -> None:
    server.silent = True
    await setup_obs(db_hub, obs_config(server.port, timeout=0.5))
    state = await wait_state(db_hub, "binary_sensor.obs_connected", lambda s: bool(s.attributes.get("error")))
    assert "did not complete the obs-websocket handshake" in state.attributes["error"]
    server.silent = False
    await wait_state(db_hub, "binary_sensor.obs_connected", "on", timeout=5)


async def test_server_delivers_events_only_to_subscribers(server: FakeObsServer) -> None:
    """The test server honours eventSubscriptions/eventIntent like obs-websocket does."""
    from integrations.obs.protocol import SUB_OUTPUTS, ObsWebSocket

    seen: list[str] = []
    ws = await ObsWebSocket.connect(
        "127.0.0.1", server.port, "secret", lambda t, d: seen.append(t), subscriptions=SUB_OUTPUTS
    )
    try:
        await server.set_scene("Gameplay")  # Scenes intent: not subscribed
        await ws.request("StartRecord")  # RecordStateChanged: Outputs intent
        await ws.request("GetVersion")  # answered after the events were sent: they have arrived
        assert seen == ["RecordStateChanged", "RecordStateChanged"]
    finally:
        await ws.close()


async def test_states_restored_from_the_last_run_are_not_trusted(db_hub: Hub) -> None:
    """After a restart the recorder restores `on`; until OBS answers, nothing is known."""
    from streamops.core import State

    db_hub.states.async_restore(
        [State("binary_sensor.obs_connected", "on"), State("binary_sensor.obs_recording", "on")]
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    await setup_obs(db_hub, obs_config(port))
    assert db_hub.states.get("binary_sensor.obs_connected").state == "off"
    assert db_hub.states.get("binary_sensor.obs_recording").state == "unavailable"


async def test_reconnect_loop_ends_when_a_cancellation_comes_back_as_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python 3.11's wait_for (and some client libraries) can turn our cancellation into the inner
    call's own error when both happen at once (a refused connect as the hub stops). The loop must
    still end: it once held the hub's stop for its 15 s limit. The race is timing-bound, so the
    connect here converts the cancellation deterministically."""
    from integrations.obs.connection import ObsConnection
    from integrations.obs.protocol import ObsConnectionError, ObsWebSocket

    entered = asyncio.Event()
    convert = True

    async def connect(*args: object, **kwargs: object) -> ObsWebSocket:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if convert:
                raise ObsConnectionError("connection refused") from None
            raise
        raise AssertionError("unreachable")

    monkeypatch.setattr(ObsWebSocket, "connect", connect)
    conn = ObsConnection(
        "t",
        "127.0.0.1",
        1,
        "",
        timeout=1,
        reconnect_max=1,
        on_event=lambda t, d: None,
        on_connected=lambda ws: asyncio.sleep(0),
        on_status=lambda status, error: None,
    )
    task = asyncio.create_task(conn.run())
    await entered.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    convert = False
    if not done:
        task.cancel()  # a plain cancellation ends it now
        await asyncio.wait({task}, timeout=5)
        pytest.fail("the reconnect loop survived its cancellation")
    assert task.cancelled()
