"""Drives: finished-file detection on real files with the real watcher, SQLite and ffmpeg media."""

# Tests do small blocking file operations on purpose (they play the writer) and poll tiny conditions.
# ruff: noqa: ASYNC110, ASYNC230, ASYNC240

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol

from integrations.drives import CONFIG_SCHEMA, DRIVES, DriveManager, async_setup, notify_closed
from integrations.drives.globs import PathFilter, compile_glob
from integrations.drives.trigger import TRIGGERS
from streamops.core import Event, Hub
from streamops.helpers.trigger_platform import TriggerInfo
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import async_setup as recorder_setup

QUIET = 1.0
WEIRD_NAME = 'it\'s a "clip" $(touch pwned) ; rm -rf ~ & `id` | ünïcödé 🎮 [1].mkv'


@pytest.fixture(scope="module")
def mkv_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real MKV (testsrc2 + sine) generated at test time; its bytes are replayed by the writers."""
    out = tmp_path_factory.mktemp("media") / "clip.mkv"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=15",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            str(out),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return out.read_bytes()


class Closed:
    """Collects `file_closed` events and lets a test wait for a count, with a timeout."""

    def __init__(self, hub: Hub) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._changed = asyncio.Event()
        hub.bus.async_listen("file_closed", self._on)

    def _on(self, event: Event) -> None:
        self.events.append((time.monotonic(), dict(event.data)))
        self._changed.set()

    @property
    def paths(self) -> list[str]:
        return [data["path"] for _at, data in self.events]

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()

    async def assert_none_within(self, seconds: float, count: int = 0) -> None:
        """Nothing beyond `count` events arrives during `seconds` (used after the expected ones)."""
        try:
            await self.wait_for(count + 1, timeout=seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected file_closed: {self.events}")


async def start_drives(hub: Hub, drives: dict[str, Any]) -> DriveManager:
    assert await async_setup(hub, CONFIG_SCHEMA(drives))
    await hub.async_start()
    manager = hub.data[DRIVES]
    await manager.async_wait_ready(15)
    return manager


@pytest.fixture
def rec(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    return folder


@pytest.fixture
async def drives(db_hub: Hub, rec: Path) -> AsyncIterator[tuple[Hub, DriveManager, Closed]]:
    closed = Closed(db_hub)
    manager = await start_drives(
        db_hub, {"rec": {"path": str(rec), "min_quiet_seconds": QUIET, "poll": "off", "stats_interval": 1}}
    )
    yield db_hub, manager, closed


async def write_in_bursts(path: Path, data: bytes, bursts: int, pause: float) -> float:
    """Append `data` in `bursts` pieces with `pause` between; returns the monotonic time of the last write."""
    size = max(1, len(data) // bursts)
    last = time.monotonic()
    for index in range(bursts):
        chunk = data[index * size : (index + 1) * size if index < bursts - 1 else len(data)]
        await asyncio.to_thread(_append, path, chunk)
        last = time.monotonic()
        if index < bursts - 1:
            await asyncio.sleep(pause)
    return last


def _append(path: Path, chunk: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(chunk)


async def test_growing_file_reported_once_after_last_write(drives: Any, rec: Path, mkv_bytes: bytes) -> None:
    _hub, _manager, closed = drives
    target = rec / "Recordings" / "2024-05-01 stream.mkv"
    target.parent.mkdir()
    # 8 bursts 0.45 s apart = ~3.2 s of writing, three times the 1 s window, never a 1 s pause.
    writer = asyncio.create_task(write_in_bursts(target, mkv_bytes, 8, 0.45))
    last_write = await writer
    assert closed.events == [], "reported while still growing"
    await closed.wait_for(1, timeout=QUIET + 5)
    at, data = closed.events[0]
    assert at >= last_write + QUIET * 0.95, "reported before the quiet window after the last write"
    assert data["path"] == str(target)
    assert data["size"] == len(mkv_bytes) == target.stat().st_size
    assert data["mtime"] == pytest.approx(target.stat().st_mtime)
    assert data["drive"] == "rec"
    assert data["relative_path"] == "Recordings/2024-05-01 stream.mkv"
    await closed.assert_none_within(QUIET * 2, count=1)


async def test_file_held_open_for_writing_waits(drives: Any, rec: Path, mkv_bytes: bytes) -> None:
    hub, _manager, closed = drives
    target = rec / "held.mkv"
    handle = open(target, "wb")  # held open across the wait on purpose
    try:
        handle.write(mkv_bytes)
        handle.flush()
        await closed.assert_none_within(QUIET * 2.5)
        waiting = hub.states.get("sensor.drive_rec_waiting")
        assert waiting is not None and waiting.state == "1"
        assert waiting.attributes["files"][0]["reason"] == "open_for_writing"
        assert waiting.attributes["writing"] == 1
    finally:
        handle.close()
    await closed.wait_for(1, timeout=QUIET + 5)
    assert closed.paths == [str(target)]


async def test_renamed_in_file_and_folder(drives: Any, rec: Path, tmp_path: Path, mkv_bytes: bytes) -> None:
    _hub, _manager, closed = drives
    outside = tmp_path / "staging"
    outside.mkdir()
    (outside / "done.mkv").write_bytes(mkv_bytes)
    os.rename(outside / "done.mkv", rec / "done.mkv")
    folder = outside / "session"
    folder.mkdir()
    (folder / "a.mkv").write_bytes(mkv_bytes)
    (folder / "b.mkv").write_bytes(mkv_bytes[:1000])
    os.rename(folder, rec / "session")
    await closed.wait_for(3, timeout=QUIET + 6)
    assert sorted(closed.paths) == sorted(
        [str(rec / "done.mkv"), str(rec / "session/a.mkv"), str(rec / "session/b.mkv")]
    )
    await closed.assert_none_within(QUIET * 1.5, count=3)


async def test_slowly_copied_file(drives: Any, rec: Path, tmp_path: Path, mkv_bytes: bytes) -> None:
    _hub, _manager, closed = drives
    source = tmp_path / "source.mkv"
    source.write_bytes(mkv_bytes * 4)
    target = rec / "copied in slowly.mkv"

    def slow_copy() -> float:
        with open(source, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(len(mkv_bytes) // 3 + 1):
                dst.write(chunk)
                dst.flush()
                time.sleep(0.3)
        return time.monotonic()

    done = await asyncio.to_thread(slow_copy)
    await closed.wait_for(1, timeout=QUIET + 5)
    at, data = closed.events[0]
    assert at >= done
    assert data["size"] == source.stat().st_size
    await closed.assert_none_within(QUIET * 1.5, count=1)


async def test_file_deleted_while_growing(drives: Any, rec: Path, mkv_bytes: bytes) -> None:
    hub, _manager, closed = drives
    target = rec / "aborted.mkv"
    await write_in_bursts(target, mkv_bytes, 4, 0.3)
    target.unlink()
    await closed.assert_none_within(QUIET * 2.5)
    waiting = hub.states.get("sensor.drive_rec_waiting")
    assert waiting is not None and waiting.state == "0"


async def test_thousands_of_files_at_once(drives: Any, rec: Path) -> None:
    hub, _manager, closed = drives
    count = 2000

    def make() -> None:
        for index in range(count):
            folder = rec / f"batch{index % 10}"
            folder.mkdir(exist_ok=True)
            (folder / f"clip_{index:05d}.mkv").write_bytes(index.to_bytes(4, "little") * 64)

    await asyncio.to_thread(make)
    await closed.wait_for(count, timeout=60)
    assert len(set(closed.paths)) == count
    await closed.assert_none_within(QUIET * 2, count=count)
    await asyncio.sleep(0.6)  # counts are published coalesced, 0.5 s after the last change
    assert hub.states.get("sensor.drive_rec_files_watched").state == str(count)


async def test_poll_mode(db_hub: Hub, rec: Path, mkv_bytes: bytes) -> None:
    closed = Closed(db_hub)
    manager = await start_drives(
        db_hub, {"polled": {"path": str(rec), "min_quiet_seconds": 0.5, "poll": True, "poll_interval": 0.2}}
    )
    drive = manager.drives["polled"]
    assert drive.watcher.polling is True
    (rec / "a b.mkv").write_bytes(mkv_bytes)
    await closed.wait_for(1, timeout=8)
    assert closed.paths == [str(rec / "a b.mkv")]


async def test_auto_mode_uses_events_where_they_arrive(db_hub: Hub, rec: Path) -> None:
    manager = await start_drives(db_hub, {"auto": {"path": str(rec), "min_quiet_seconds": 0.5}})
    drive = manager.drives["auto"]
    assert drive.watcher.polling is False
    assert "file events arrive" in drive.watcher.mode_reason
    assert not any(p.name.startswith(".streamops-probe") for p in rec.iterdir()), "probe file left behind"


async def test_startup_scan_and_no_rereport_after_restart(tmp_path: Path, rec: Path, mkv_bytes: bytes) -> None:
    (rec / "old recording.mkv").write_bytes(mkv_bytes)
    config = {"rec": {"path": str(rec), "min_quiet_seconds": 0.5, "poll": "off"}}

    async def run_hub() -> tuple[Hub, Closed]:
        hub = Hub(tmp_path / "config", tmp_path / "data")
        assert await recorder_setup(hub, RECORDER_SCHEMA({}))
        closed = Closed(hub)
        await start_drives(hub, config)
        return hub, closed

    (tmp_path / "config").mkdir(exist_ok=True)
    hub, closed = await run_hub()
    await closed.wait_for(1, timeout=6)
    assert closed.paths == [str(rec / "old recording.mkv")]
    await hub.async_stop()

    (rec / "made while down.mkv").write_bytes(mkv_bytes)
    hub, closed = await run_hub()
    try:
        await closed.wait_for(1, timeout=6)
        await closed.assert_none_within(1.5, count=1)
        assert closed.paths == [str(rec / "made while down.mkv")]
        # A rescan on demand finds nothing new either.
        response = await hub.services.async_call("drives", "rescan", {}, return_response=True)
        assert response == {"drives": {"rec": {"files": 2, "queued": 0, "available": True}}}
        # The same path with new content is a new file.
        (rec / "old recording.mkv").write_bytes(mkv_bytes + b"x")
        await closed.wait_for(2, timeout=6)
        assert closed.paths[1] == str(rec / "old recording.mkv")
    finally:
        await hub.async_stop()


async def test_notify_closed_skips_quiet_window(db_hub: Hub, rec: Path, mkv_bytes: bytes) -> None:
    closed = Closed(db_hub)
    manager = await start_drives(db_hub, {"rec": {"path": str(rec), "min_quiet_seconds": 60, "poll": "off"}})
    target = rec / "obs finished.mkv"
    target.write_bytes(mkv_bytes)
    started = time.monotonic()
    assert await notify_closed(db_hub, str(target)) is True
    await closed.wait_for(1, timeout=2)
    assert time.monotonic() - started < 2
    assert closed.paths == [str(target)]
    # Exactly once: a second notify, or the watcher's own (60 s) window, never reports it again.
    assert await manager.notify_closed(str(target)) is False
    assert await manager.notify_closed(str(rec.parent / "elsewhere.mkv")) is False
    assert manager.drives["rec"].tracker.candidates == {}


async def test_notify_closed_still_waits_for_writer(db_hub: Hub, rec: Path, mkv_bytes: bytes) -> None:
    closed = Closed(db_hub)
    manager = await start_drives(db_hub, {"rec": {"path": str(rec), "min_quiet_seconds": 60, "poll": "off"}})
    target = rec / "still open.mkv"
    with open(target, "wb") as handle:
        handle.write(mkv_bytes)
        handle.flush()
        assert await manager.notify_closed(str(target)) is False
        await closed.assert_none_within(1.0)
    # Closed now: reported without the 60 s window because OBS already said it was done.
    await closed.wait_for(1, timeout=5)
    assert closed.paths == [str(target)]


async def test_obs_recording_restarts_quiet_window(db_hub: Hub, rec: Path, mkv_bytes: bytes) -> None:
    closed = Closed(db_hub)
    await start_drives(db_hub, {"rec": {"path": str(rec), "min_quiet_seconds": 1.5, "poll": "off"}})
    db_hub.states.async_set("binary_sensor.obs_recording", "off")
    (rec / "split.mkv").write_bytes(mkv_bytes)
    await asyncio.sleep(1.0)
    db_hub.states.async_set("binary_sensor.obs_recording", "on")
    restarted = time.monotonic()
    await closed.wait_for(1, timeout=6)
    assert closed.events[0][0] >= restarted + 1.5 * 0.95


async def test_entities_probe_and_allowed_dirs(drives: Any, rec: Path, tmp_path: Path) -> None:
    hub, _manager, _closed = drives
    assert rec.resolve() in hub.config.allowed_dirs
    assert hub.config.is_allowed_path(rec / "x.mkv")
    assert not hub.config.is_allowed_path(tmp_path / "elsewhere")
    free = hub.states.get("sensor.drive_rec_free")
    assert free is not None and float(free.state) > 0 and free.attributes["unit_of_measurement"] == "GiB"
    assert free.attributes["bytes"] > 0
    assert float(hub.states.get("sensor.drive_rec_total").state) >= float(free.state)
    assert 0 <= float(hub.states.get("sensor.drive_rec_used_percent").state) <= 100
    assert hub.states.get("sensor.drive_rec_files_watched") is not None
    probe = await hub.services.async_call("drives", "probe", {"path": str(rec)}, return_response=True)
    assert probe["exists"] and probe["is_dir"] and probe["readable"] and probe["writable"]
    assert probe["free_bytes"] > 0 and probe["filesystem"] and probe["inside_drive"] is True
    assert list(rec.iterdir()) == []  # the writability test left nothing behind
    missing = await hub.services.async_call("drives", "probe", {"path": str(tmp_path / "nope")}, return_response=True)
    assert missing["exists"] is False and missing["error"] == "path does not exist"
    relative = await hub.services.async_call("drives", "probe", {"path": "relative/dir"}, return_response=True)
    assert relative["error"] == "path must be absolute"


async def test_weird_file_names(drives: Any, rec: Path, mkv_bytes: bytes) -> None:
    _hub, _manager, closed = drives
    folder = rec / "Game: «Ёлка» & co's $HOME"
    folder.mkdir()
    (folder / WEIRD_NAME).write_bytes(mkv_bytes)
    await closed.wait_for(1, timeout=QUIET + 5)
    assert closed.paths == [str(folder / WEIRD_NAME)]
    assert not Path("pwned").exists()


async def test_watch_and_ignore_globs(db_hub: Hub, rec: Path, mkv_bytes: bytes) -> None:
    closed = Closed(db_hub)
    await start_drives(
        db_hub,
        {
            "rec": {
                "path": str(rec),
                "min_quiet_seconds": 0.5,
                "poll": "off",
                "watch": ["Recordings/**/*.mkv", "*.mp4"],
                "ignore": ["**/skip/**"],
            }
        },
    )
    for name in [
        "Recordings/a.MKV",
        "Recordings/x/y/b.mkv",
        "Other/c.mkv",
        "deep/d.mp4",
        "Recordings/skip/e.mkv",
        "Recordings/.hidden.mkv",
        "Recordings/f.mkv.part",
    ]:
        (rec / name).parent.mkdir(parents=True, exist_ok=True)
        (rec / name).write_bytes(mkv_bytes[:100])
    await closed.wait_for(3, timeout=5)
    await closed.assert_none_within(1.2, count=3)
    assert sorted(Path(p).relative_to(rec).as_posix() for p in closed.paths) == [
        "Recordings/a.MKV",
        "Recordings/x/y/b.mkv",
        "deep/d.mp4",
    ]


def test_globs() -> None:
    assert compile_glob("Recordings/**/*.mkv").match("Recordings/a.mkv")
    assert compile_glob("Recordings/**/*.mkv").match("Recordings/2024/05/a.mkv")
    assert not compile_glob("Recordings/*.mkv").match("Recordings/2024/a.mkv")
    assert compile_glob("*.mkv").match("deep/down/a.mkv")
    assert compile_glob("/abs/**/x?.ts").match("/abs/q/x1.ts")
    assert not compile_glob("*.mkv", case_sensitive=True).match("A.MKV")
    path_filter = PathFilter(["**/*"], ["**/.*", "@eaDir"])
    assert not path_filter.wanted("@eaDir/thumb.jpg")
    assert not path_filter.wanted("a/.Trash-1000/file.mkv")
    assert path_filter.wanted("a/b.mkv")


def test_config_errors_name_the_cause() -> None:
    with pytest.raises(vol.Invalid, match="poll must be on, off or auto"):
        CONFIG_SCHEMA({"rec": {"path": "/x", "poll": "sometimes"}})
    with pytest.raises(vol.Invalid, match="lower-case"):
        CONFIG_SCHEMA({"My Drive": {"path": "/x"}})
    with pytest.raises(vol.Invalid, match="defined twice"):
        CONFIG_SCHEMA([{"name": "a", "path": "/x"}, {"name": "a", "path": "/y"}])
    with pytest.raises(vol.Invalid):
        CONFIG_SCHEMA({"rec": {"path": "/x", "unknown_key": 1}})
    assert CONFIG_SCHEMA({}) == {}
    listed = CONFIG_SCHEMA([{"name": "a", "path": "/x", "poll": False}])
    assert listed["a"]["poll"] == "off" and listed["a"]["min_quiet_seconds"] == 10.0


async def test_file_closed_trigger(drives: Any, rec: Path, mkv_bytes: bytes) -> None:
    hub, _manager, closed = drives
    platform = TRIGGERS["file_closed"]
    fired: list[dict[str, Any]] = []
    slow: list[dict[str, Any]] = []
    config = platform.schema({"trigger": "file_closed", "drive": "rec", "path_glob": "**/*.mkv"})
    unsub = await platform.attach(hub, config, lambda payload, ctx: fired.append(payload), TriggerInfo("a", "A"))
    slow_config = platform.schema({"platform": "file_closed", "min_quiet_seconds": QUIET + 1})
    unsub_slow = await platform.attach(hub, slow_config, lambda p, c: slow.append(p), TriggerInfo("b", "B"))
    by_ext: list[dict[str, Any]] = []
    ext_config = platform.schema({"trigger": "file_closed", "extensions": ["MOV"]})
    unsub_ext = await platform.attach(hub, ext_config, lambda p, c: by_ext.append(p), TriggerInfo("d", "D"))
    other = platform.schema({"trigger": "file_closed", "drive": "other"})
    other_fired: list[Any] = []
    unsub_other = await platform.attach(hub, other, lambda p, c: other_fired.append(p), TriggerInfo("c", "C"))
    with pytest.raises(vol.Invalid):
        platform.schema({"trigger": "file_closed", "bogus": 1})
    (rec / "yes.mkv").write_bytes(mkv_bytes)
    (rec / "no.mov").write_bytes(mkv_bytes)
    await closed.wait_for(2, timeout=QUIET + 5)
    await hub.async_block_till_done()
    assert [p["path"] for p in fired] == [str(rec / "yes.mkv")]
    assert fired[0]["platform"] == "file_closed" and fired[0]["drive"] == "rec"
    assert other_fired == []
    assert [p["path"] for p in by_ext] == [str(rec / "no.mov")]
    unsub_ext()
    async with asyncio.timeout(5):
        while len(slow) < 2:
            await asyncio.sleep(0.05)
    unsub()
    unsub_slow()
    unsub_other()


async def test_missing_drive_folder_is_unavailable_not_fatal(db_hub: Hub, tmp_path: Path) -> None:
    manager_task = asyncio.create_task(
        start_drives(
            db_hub,
            {
                "gone": {
                    "path": str(tmp_path / "unplugged"),
                    "poll": "off",
                    "min_quiet_seconds": 0.5,
                    "stats_interval": 1,
                }
            },
        )
    )
    async with asyncio.timeout(5):
        while db_hub.states.get("sensor.drive_gone_free") is None:
            await asyncio.sleep(0.05)
    assert db_hub.states.get("sensor.drive_gone_free").state == "unavailable"
    (tmp_path / "unplugged").mkdir()
    manager = await manager_task
    assert manager.drives["gone"].ready.is_set()
    shutil.rmtree(tmp_path / "unplugged")


async def test_failed_report_is_retried_not_lost(db_hub: Hub, rec: Path) -> None:
    from integrations.drives.stability import StabilityTracker, StableFile
    from integrations.drives.store import HandledStore
    from streamops.recorder import DATABASE

    store = HandledStore(db_hub.data[DATABASE])
    await store.load()
    target = rec / "x.mkv"
    target.write_bytes(b"data")
    st = target.stat()
    await db_hub.data[DATABASE].execute("DROP TABLE so_drive_files")  # the write will fail
    with pytest.raises(Exception, match="so_drive_files"):
        await store.mark("rec", [(str(target), st.st_size, st.st_mtime_ns)])
    assert not store.is_handled(str(target), st.st_size, st.st_mtime_ns), "memory rolled back"

    attempts: list[list[StableFile]] = []

    async def flaky(files: list[StableFile]) -> None:
        attempts.append(files)
        if len(attempts) == 1:
            raise RuntimeError("database is locked")

    tracker = StabilityTracker(0.1, flaky, check_open_files=False)
    tracker.touch(str(target))
    async with asyncio.timeout(5):
        while len(attempts) < 2:
            try:
                await tracker.check_once()
            except RuntimeError:
                pass
            await asyncio.sleep(0.05)
    assert [f.path for f in attempts[1]] == [str(target)]


async def test_drive_folder_removed_and_restored(drives: Any, rec: Path, mkv_bytes: bytes) -> None:
    _hub, manager, closed = drives
    first_watcher = manager.drives["rec"].watcher
    shutil.rmtree(rec)
    async with asyncio.timeout(5):
        while manager.drives["rec"].watcher is first_watcher:
            if not rec.exists():
                await asyncio.sleep(0.3)
                rec.mkdir()
            await asyncio.sleep(0.05)
    (rec / "after remount.mkv").write_bytes(mkv_bytes)
    await closed.wait_for(1, timeout=QUIET + 8)
    assert closed.paths == [str(rec / "after remount.mkv")]
