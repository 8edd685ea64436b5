"""End to end against a real OBS Studio (Debian's obs-studio 29 + obs-websocket 5.1) under Xvfb.

Skipped, with the reason, when the `obs` or `Xvfb` binaries or the headless launcher are missing.
Install with `tests/tools/obs-headless.sh install` (setup.sh test does it) (apt, about 40 s); the launcher path can
be overridden with STREAMOPS_OBS_HEADLESS.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from streamops.core import Hub, ServiceError
from streamops.recorder import DATABASE
from tests.helpers_obs import EventWaiter, obs_config, setup_obs, wait_state

LAUNCHER = Path(os.environ.get("STREAMOPS_OBS_HEADLESS", Path(__file__).parent / "tools" / "obs-headless.sh"))
PASSWORD = "streamops-e2e"

pytestmark = [
    pytest.mark.skipif(shutil.which("obs") is None, reason="OBS Studio not installed (obs-headless.sh install)"),
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed (obs-headless.sh install)"),
    pytest.mark.skipif(not LAUNCHER.exists(), reason=f"headless OBS launcher {LAUNCHER} not found"),
    pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def real_obs(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    folder = tmp_path / "obs"
    port = _free_port()
    started = time.monotonic()
    result = await asyncio.to_thread(
        subprocess.run,
        ["bash", str(LAUNCHER), "start", str(folder), str(port), PASSWORD],
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        await asyncio.to_thread(subprocess.run, ["bash", str(LAUNCHER), "stop", str(folder)], timeout=30)
        pytest.fail(f"headless OBS did not start: {result.stderr.strip()}")
    print(f"OBS started in {time.monotonic() - started:.1f} s")
    try:
        yield port, folder / "rec"
    finally:
        await asyncio.to_thread(
            subprocess.run, ["bash", str(LAUNCHER), "stop", str(folder)], timeout=30, stdin=subprocess.DEVNULL
        )


def _ffprobe(path: str) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return dict(json.loads(out.stdout))


async def test_real_obs_records_and_reports_the_file(db_hub: Hub, real_obs: tuple[int, Path]) -> None:
    port, rec_dir = real_obs
    await setup_obs(db_hub, obs_config(port, password=PASSWORD, stats_interval=1))
    connected = await wait_state(db_hub, "binary_sensor.obs_connected", "on", timeout=30)
    assert connected.attributes["obs_version"].startswith("29.")
    assert db_hub.states.get("sensor.obs_scene").state == "Scene"
    assert db_hub.states.get("sensor.obs_profile").state == "Test"
    # Debian's OBS has no replay buffer configured: shown as off, not as an error.
    assert db_hub.states.get("binary_sensor.obs_replay_buffer").attributes["available"] is False

    started, stopped = EventWaiter(db_hub, "obs_recording_started"), EventWaiter(db_hub, "obs_recording_stopped")
    t0 = time.monotonic()
    await db_hub.services.async_call("obs", "start_record", {}, blocking=True)
    start_event = await started.next(timeout=15)
    await wait_state(db_hub, "binary_sensor.obs_recording", "on")

    # OBS 29 has no record chapters: the marker is kept, and the answer says why.
    marker = await db_hub.services.async_call(
        "obs", "add_marker", {"label": "e2e"}, blocking=True, return_response=True
    )
    assert marker is not None and marker["chapter"] is False and "29.0" in marker["note"]
    # A request this OBS does not know: a clear message, the connection stays up.
    with pytest.raises(ServiceError, match="does not support the request SplitRecordFile"):
        await db_hub.services.async_call("obs", "request", {"request_type": "SplitRecordFile"}, blocking=True)

    await asyncio.sleep(3)  # three seconds of video, deliberately
    response = await db_hub.services.async_call("obs", "stop_record", {}, blocking=True, return_response=True)
    stop_event = await stopped.next(timeout=20)
    print(f"record start → stop event: {time.monotonic() - t0:.1f} s")

    path = stop_event.data["output_path"]
    assert path and path.endswith(".mkv")
    assert Path(path).parent == rec_dir
    assert response is not None and response["output_path"] == path
    assert stop_event.data["session_id"] == start_event.data["session_id"]
    probe = await asyncio.to_thread(_ffprobe, path)
    assert float(probe["format"]["duration"]) >= 2.0  # type: ignore[index]
    assert any(s["codec_type"] == "video" for s in probe["streams"])  # type: ignore[union-attr]

    row = await db_hub.data[DATABASE].fetchone(
        "SELECT output_path, scene, profile, markers, ended FROM so_sessions WHERE id = ?",
        (stop_event.data["session_id"],),
    )
    assert row["output_path"] == path and row["scene"] == "Scene" and row["profile"] == "Test"
    assert [m["label"] for m in json.loads(row["markers"])] == ["e2e"]
    assert row["ended"] is not None


async def _launch(folder: Path, port: int) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        ["bash", str(LAUNCHER), "start", str(folder), str(port), PASSWORD],
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr


async def test_real_obs_closed_mid_recording_and_restarted(db_hub: Hub, real_obs: tuple[int, Path]) -> None:
    port, rec_dir = real_obs
    folder = rec_dir.parent
    await setup_obs(db_hub, obs_config(port, password=PASSWORD, stats_interval=1))
    await wait_state(db_hub, "binary_sensor.obs_connected", "on", timeout=30)
    started, stopped = EventWaiter(db_hub, "obs_recording_started"), EventWaiter(db_hub, "obs_recording_stopped")
    await db_hub.services.async_call("obs", "start_record", {}, blocking=True)
    session_id = (await started.next(timeout=15)).data["session_id"]
    # Some video in the file first (OBS's own clock, polled every second).
    await wait_state(db_hub, "sensor.obs_record_duration", lambda s: s.state.isdigit() and int(s.state) >= 2, 15)

    # The streamer quits OBS while it records (SIGTERM, as a desktop logout would).
    await asyncio.to_thread(subprocess.run, ["bash", str(LAUNCHER), "stop", str(folder)], timeout=30)
    await wait_state(db_hub, "binary_sensor.obs_connected", "off", timeout=10)
    assert db_hub.states.get("sensor.obs_scene").state == "unavailable"
    assert db_hub.states.get("binary_sensor.obs_recording").state == "unavailable"

    await _launch(folder, port)
    await wait_state(db_hub, "binary_sensor.obs_connected", "on", timeout=30)
    await wait_state(db_hub, "binary_sensor.obs_recording", "off")
    event = await stopped.next(timeout=10)
    # OBS 29 named the file when recording started, so it is handed over even though OBS never
    # reported the stop; OBS finalised it on exit and it is readable.
    assert event.data["reason"] == "interrupted" and event.data["session_id"] == session_id
    path = event.data["output_path"]
    assert path and Path(path).parent == rec_dir
    probe = await asyncio.to_thread(_ffprobe, path)
    assert any(s["codec_type"] == "video" for s in probe["streams"])  # type: ignore[union-attr]
    row = await db_hub.data[DATABASE].fetchone("SELECT ended, metrics FROM so_sessions WHERE id = ?", (session_id,))
    assert row["ended"] is not None
    assert json.loads(row["metrics"])["interrupted"] is True
