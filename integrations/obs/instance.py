"""One OBS as StreamOps sees it: its connection, entities, current recording session and stats.

Everything runs on the event loop: the websocket reader calls `_on_event` synchronously, which
queues the handling as a hub task; handlers take `_lock` in arrival order, so a quick
start → stop never interleaves and the initial state sync after a (re)connect is never
overtaken by an event that arrived during it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from streamops.core import Hub, ServiceError

from .config import InstanceConfig
from .connection import ObsConnection, Status
from .const import (
    EVENT_MARKER,
    EVENT_RECORDING_STARTED,
    EVENT_RECORDING_STOPPED,
    EVENT_REPLAY_SAVED,
    EVENT_SCENE_CHANGED,
    EVENT_STREAMING_STARTED,
    EVENT_STREAMING_STOPPED,
    OUTPUT_PAUSED,
    OUTPUT_RECONNECTING,
    OUTPUT_RESUMED,
    OUTPUT_STARTED,
    OUTPUT_STOPPED,
)
from .entities import ObsEntities
from .protocol import ObsConnectionError, ObsError, ObsRequestError, ObsWebSocket
from .sessions import Session, SessionStore

_LOGGER = logging.getLogger(__name__)

CHAPTER_REQUEST = "CreateRecordChapter"


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


class ObsInstance:
    def __init__(self, hub: Hub, config: InstanceConfig, store: SessionStore) -> None:
        self.hub = hub
        self.config = config
        self.name = config.name
        self.store = store
        self.entities = ObsEntities(hub, config.name, config.object_suffix)
        self.conn = ObsConnection(
            config.name,
            config.host,
            config.port,
            config.password,
            timeout=config.timeout,
            reconnect_max=config.reconnect_max,
            on_event=self._on_event,
            on_connected=self._on_connected,
            on_status=self._on_status,
        )
        self.version: dict[str, Any] = {}
        self.available_requests: set[str] = set()
        self.scene: str | None = None
        self.profile: str | None = None
        self.collection: str | None = None
        self.recording = False
        self.record_paused = False
        self.streaming = False
        self.replay_buffer: bool | None = None
        self.game_override: str | None = None
        self.session: Session | None = None
        self.last_record_path: str | None = None
        self.last_stats: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._collection_changing = False
        self._lost_at: float | None = None
        self._published = False  # states restored from the last run are replaced at start
        self._task: asyncio.Task[None] | None = None
        self._stats_task: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "CurrentProgramSceneChanged": self._scene_changed,
            "CurrentProfileChanged": self._profile_changed,
            "CurrentSceneCollectionChanging": self._collection_changing_event,
            "CurrentSceneCollectionChanged": self._collection_changed,
            "RecordStateChanged": self._record_state_changed,
            "RecordFileChanged": self._record_file_changed,
            "StreamStateChanged": self._stream_state_changed,
            "ReplayBufferStateChanged": self._replay_state_changed,
            "ReplayBufferSaved": self._replay_saved,
            "ExitStarted": self._exit_started,
        }

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._on_status(Status.CONNECTING, None)
        self._task = self.hub.async_create_background_task(self.conn.run(), f"obs-{self.name}")

    async def stop(self) -> None:
        for task in (self._stats_task, self._task):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        if self.session is not None:
            await self.store.save_progress(self.session)

    @property
    def game(self) -> str | None:
        """The game right now: the recording's, else set_game's, else game_map for scene/profile."""
        if self.session is not None:
            return self.session.game
        return self.game_override or self.config.game_for(self.scene, self.profile)

    # -- requests --------------------------------------------------------------------------------
    async def request(self, request_type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        ws = self.conn.ws
        if ws is None or ws.closed.done():
            reason = self.conn.error or str(self.conn.status)
            raise ObsConnectionError(f"{self.conn.where} is not connected ({reason})")
        return await ws.request(request_type, data)

    async def _try(
        self, ws: ObsWebSocket, request_type: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """A query whose failure (old OBS, feature off) must not fail the whole state sync."""
        try:
            return await ws.request(request_type, data)
        except ObsRequestError as err:
            _LOGGER.debug("%s: %s", self.conn.where, err)
            return None

    # -- connection --------------------------------------------------------------------------------
    def _on_status(self, status: Status, error: str | None) -> None:
        if status == Status.CONNECTING and self._published:
            return  # keep showing the last failure between attempts (no state churn per attempt)
        self._published = True
        attributes = {
            **self.conn.as_attributes(),
            "obs_version": self.version.get("obsVersion"),
            "obs_websocket_version": self.version.get("obsWebSocketVersion"),
            "platform": self.version.get("platformDescription"),
        }
        self.entities.set("obs_connected", status == Status.CONNECTED, **attributes)
        if status == Status.CONNECTED:
            self._lost_at = None
        else:
            self._lost_at = self._lost_at or time.time()
            if self._stats_task is not None:
                self._stats_task.cancel()
                self._stats_task = None
            self.entities.set_unavailable(error)

    async def _on_connected(self, ws: ObsWebSocket) -> None:
        """Read OBS's whole state once, then follow it through events."""
        async with self._lock:
            self.version = await ws.request("GetVersion")
            self.available_requests = set(self.version.get("availableRequests") or [])
            scene = await self._try(ws, "GetCurrentProgramScene") or {}
            self.scene = scene.get("sceneName") or scene.get("currentProgramSceneName")
            self.profile = (await self._try(ws, "GetProfileList") or {}).get("currentProfileName")
            collections = await self._try(ws, "GetSceneCollectionList") or {}
            self.collection = collections.get("currentSceneCollectionName")
            stream = await self._try(ws, "GetStreamStatus") or {}
            self.streaming = bool(stream.get("outputActive"))
            replay = await self._try(ws, "GetReplayBufferStatus")
            self.replay_buffer = None if replay is None else bool(replay.get("outputActive"))
            self.last_stats = await self._try(ws, "GetStats") or {}
            record = await self._try(ws, "GetRecordStatus") or {}
            await self._reconcile_recording(ws, record)
            self._publish_all(record)
        _LOGGER.info(
            "%s runs OBS %s with obs-websocket %s",
            self.conn.where,
            self.version.get("obsVersion"),
            self.version.get("obsWebSocketVersion"),
        )
        self._stats_task = self.hub.async_create_background_task(self._poll_stats(ws), f"obs-{self.name}-stats")

    async def _reconcile_recording(self, ws: ObsWebSocket, record: dict[str, Any]) -> None:
        """After a (re)connect: join a recording in progress, or close one that ended unseen."""
        active = bool(record.get("outputActive"))
        self.record_paused = bool(record.get("outputPaused"))
        if self.session is None:
            self.session = await self.store.open_session(self.name)
        if active:
            self.recording = True
            if self.session is None:
                started = time.time() - float(record.get("outputDuration") or 0) / 1000
                await self._begin_session(started, None, joined=True)
            return
        self.recording = False
        session = self.session
        if session is None:
            return
        # The recording ended while StreamOps was not connected (OBS quit or crashed mid-recording).
        ended = self._lost_at or time.time()
        session.metrics["interrupted"] = True
        self._finalise_metrics(session, ended)
        local = session.current_file
        if local:
            started = session.current_file_started or session.started
            await self._finish_file(session, session.current_file_obs, local, started, ended)
        await self.store.finish(session, ended, local)
        self.session = None
        self.last_record_path = local or self.last_record_path
        _LOGGER.warning(
            "%s stopped recording while StreamOps was not connected (session %s)%s",
            self.conn.where,
            session.id,
            f"; handing over {local}"
            if local
            else "; its file name is unknown here, so the drive watcher picks it up after its quiet window",
        )
        self._fire(
            EVENT_RECORDING_STOPPED,
            self._stopped_data(session, local, session.current_file_obs, "interrupted", session.started, ended),
        )
        if local:
            self._hand_to_drives(local)

    def _publish_all(self, record: dict[str, Any]) -> None:
        self.entities.set("obs_scene", self.scene)
        self.entities.set("obs_profile", self.profile)
        self.entities.set("obs_scene_collection", self.collection)
        self._publish_game()
        self._publish_recording(record)
        self.entities.set("obs_streaming", self.streaming)
        if self.replay_buffer is None:
            self.entities.set("obs_replay_buffer", False, available=False)
        else:
            self.entities.set("obs_replay_buffer", self.replay_buffer, available=True)
        self.entities.set("obs_record_path", self._record_path())
        self.entities.set_stats(self.last_stats)

    def _publish_game(self) -> None:
        source = "recording" if self.session else ("set_game" if self.game_override else "game_map")
        self.entities.set("obs_game", self.game, source=source)

    def _publish_recording(self, record: dict[str, Any] | None = None) -> None:
        session = self.session
        self.entities.set(
            "obs_recording",
            self.recording,
            paused=self.record_paused,
            session_id=session.id if session else None,
            started=_iso(session.started) if session else None,
        )
        duration = 0.0
        if self.recording:
            if record and record.get("outputDuration") is not None:
                duration = float(record["outputDuration"]) / 1000
            elif session is not None:
                duration = time.time() - session.started
        self.entities.set(
            "obs_record_duration",
            round(duration),
            timecode=(record or {}).get("outputTimecode"),
            bytes=(record or {}).get("outputBytes"),
        )

    def _record_path(self) -> str | None:
        if self.session is not None and self.session.current_file:
            return self.session.current_file
        return self.last_record_path

    # -- events ------------------------------------------------------------------------------------
    def _on_event(self, event_type: str, data: dict[str, Any]) -> None:
        handler = self._handlers.get(event_type)
        if handler is not None:
            self.hub.async_create_task(self._handle(event_type, handler, data), name=f"obs-{event_type}")

    async def _handle(
        self, event_type: str, handler: Callable[[dict[str, Any]], Awaitable[None]], data: dict[str, Any]
    ) -> None:
        async with self._lock:
            try:
                await handler(data)
            except Exception:
                _LOGGER.exception("Error handling %s from %s", event_type, self.conn.where)

    def _fire(self, event_type: str, data: dict[str, Any]) -> None:
        self.hub.bus.async_fire(event_type, {"instance": self.name, **data})

    async def _scene_changed(self, data: dict[str, Any]) -> None:
        previous, self.scene = self.scene, data.get("sceneName")
        self.entities.set("obs_scene", self.scene)
        session = self.session
        if session is not None:
            session.metrics.setdefault("scenes", []).append(
                {"offset": round(time.time() - session.started, 3), "scene": self.scene}
            )
        self._publish_game()
        self._fire(
            EVENT_SCENE_CHANGED,
            {
                "scene": self.scene,
                "previous_scene": previous,
                "recording": self.recording,
                "session_id": session.id if session else None,
            },
        )

    async def _profile_changed(self, data: dict[str, Any]) -> None:
        self.profile = data.get("profileName")
        self.entities.set("obs_profile", self.profile)
        self._publish_game()

    async def _collection_changing_event(self, data: dict[str, Any]) -> None:
        # OBS: requests during a collection change are undefined behaviour; pause the polling.
        self._collection_changing = True

    async def _collection_changed(self, data: dict[str, Any]) -> None:
        self._collection_changing = False
        self.collection = data.get("sceneCollectionName")
        self.entities.set("obs_scene_collection", self.collection)
        ws = self.conn.ws
        if ws is not None:
            try:
                scene = await self._try(ws, "GetCurrentProgramScene") or {}
            except ObsConnectionError:
                return
            self.scene = scene.get("sceneName") or scene.get("currentProgramSceneName") or self.scene
            self.entities.set("obs_scene", self.scene)
            self._publish_game()

    async def _record_state_changed(self, data: dict[str, Any]) -> None:
        state = data.get("outputState")
        if state == OUTPUT_STARTED:
            await self._recording_started(data.get("outputPath"))
        elif state == OUTPUT_STOPPED:
            await self._recording_stopped(data.get("outputPath"))
        elif state in (OUTPUT_PAUSED, OUTPUT_RESUMED):
            self.record_paused = state == OUTPUT_PAUSED
            self._publish_recording()

    async def _recording_started(self, obs_path: str | None) -> None:
        if self.recording and self.session is not None:
            # Already joined during the state sync: only learn the file name.
            if obs_path and not self.session.current_file_obs:
                self._set_current_file(self.session, obs_path, self.session.started)
            return
        self.recording = True
        self.record_paused = False
        await self._begin_session(time.time(), obs_path, joined=False)

    async def _begin_session(self, started: float, obs_path: str | None, *, joined: bool) -> None:
        session = Session(
            instance=self.name,
            started=started,
            scene=self.scene,
            profile=self.profile,
            collection=self.collection,
            game=self.game_override or self.config.game_for(self.scene, self.profile),
        )
        if obs_path:
            self._set_current_file(session, obs_path, started)
        stats = await self._fresh_stats()
        session.metrics = {"stats_start": _stats_snapshot(stats)} if stats else {}
        await self.store.create(session)
        self.session = session
        self._publish_recording()
        self._publish_game()
        self.entities.set("obs_record_path", self._record_path())
        self._fire(
            EVENT_RECORDING_STARTED,
            {
                "session_id": session.id,
                "output_path": session.current_file,
                "scene": session.scene,
                "profile": session.profile,
                "collection": session.collection,
                "game": session.game,
                "started": _iso(started),
                "joined_in_progress": joined,
            },
        )

    def _set_current_file(self, session: Session, obs_path: str, started: float) -> None:
        session.current_file_obs = obs_path
        session.current_file = self.config.local_path(obs_path)
        session.current_file_started = started

    async def _recording_stopped(self, obs_path: str | None) -> None:
        ended = time.time()
        session = self.session
        if session is None:
            # Connected while OBS was already stopping: a session of unknown start.
            session = Session(self.name, ended, self.scene, self.profile, self.collection, self.game)
            await self.store.create(session)
        obs_path = obs_path or session.current_file_obs
        local = self.config.local_path(obs_path)
        stats = await self._fresh_stats()
        if stats:
            session.metrics["stats_end"] = _stats_snapshot(stats)
        self._finalise_metrics(session, ended)
        if local:
            await self._finish_file(session, obs_path, local, session.current_file_started or session.started, ended)
        await self.store.finish(session, ended, local)
        self.session = None
        self.recording = False
        self.record_paused = False
        if local:
            self.last_record_path = local
        self._publish_recording()
        self._publish_game()
        self.entities.set("obs_record_path", self._record_path())
        self._fire(
            EVENT_RECORDING_STOPPED, self._stopped_data(session, local, obs_path, "stopped", session.started, ended)
        )
        if local:
            self._hand_to_drives(local)
        else:
            _LOGGER.warning("%s stopped recording without telling the file name", self.conn.where)

    async def _record_file_changed(self, data: dict[str, Any]) -> None:
        """A split: the previous file is finished (handled like a stop), recording goes on."""
        new_obs_path = data.get("newOutputPath")
        now = time.time()
        session = self.session
        if session is None:
            self.recording = True
            await self._begin_session(now, None, joined=True)
            session = self.session
            assert session is not None
        previous_obs, previous_local = session.current_file_obs, session.current_file
        previous_started = session.current_file_started or session.started
        if new_obs_path:
            self._set_current_file(session, new_obs_path, now)
        self.entities.set("obs_record_path", self._record_path())
        if not previous_obs or not previous_local:
            _LOGGER.info(
                "%s split the recording, but did not say the finished part's name when recording started; "
                "the drive watcher picks it up after its quiet window",
                self.conn.where,
            )
            await self.store.save_progress(session)
            return
        await self._finish_file(session, previous_obs, previous_local, previous_started, now)
        await self.store.save_progress(session)
        data = self._stopped_data(session, previous_local, previous_obs, "split", previous_started, now)
        self._fire(EVENT_RECORDING_STOPPED, {**data, "next_path": session.current_file})
        self._hand_to_drives(previous_local)

    def _stopped_data(
        self,
        session: Session,
        local: str | None,
        obs_path: str | None,
        reason: str,
        started: float,
        ended: float,
    ) -> dict[str, Any]:
        """obs_recording_stopped's data; `reason` is stopped, split (recording goes on) or interrupted."""
        return {
            "session_id": session.id,
            "output_path": local,
            "obs_path": obs_path,
            "files": list(session.files),
            "reason": reason,
            "recording": reason == "split",
            "duration": round(ended - started, 3),
            "started": _iso(started),
            "ended": _iso(ended),
            "scene": session.scene,
            "profile": session.profile,
            "collection": session.collection,
            "game": session.game,
            "markers": len(session.markers),
        }

    async def _finish_file(
        self, session: Session, obs_path: str | None, local: str, started: float | None, ended: float
    ) -> None:
        session.files.append(local)
        await self.store.add_file(
            path=local,
            obs_path=obs_path,
            kind="recording",
            instance=self.name,
            session=session,
            started=started,
            ended=ended,
            scene=session.scene,
            profile=session.profile,
            collection=session.collection,
            game=session.game,
        )

    async def _replay_saved(self, data: dict[str, Any]) -> None:
        obs_path = data.get("savedReplayPath")
        local = self.config.local_path(obs_path)
        if not local:
            _LOGGER.warning("%s saved a replay without telling its file name", self.conn.where)
            return
        now = time.time()
        await self.store.add_file(
            path=local,
            obs_path=obs_path,
            kind="replay",
            instance=self.name,
            session=self.session,
            started=None,
            ended=now,
            scene=self.scene,
            profile=self.profile,
            collection=self.collection,
            game=self.game,
        )
        self._fire(
            EVENT_REPLAY_SAVED,
            {
                "output_path": local,
                "obs_path": obs_path,
                "scene": self.scene,
                "profile": self.profile,
                "game": self.game,
                "session_id": self.session.id if self.session else None,
            },
        )
        self._hand_to_drives(local)

    async def _stream_state_changed(self, data: dict[str, Any]) -> None:
        state = data.get("outputState")
        if state == OUTPUT_STARTED and not self.streaming:
            self.streaming = True
            self.entities.set("obs_streaming", True)
            self._fire(EVENT_STREAMING_STARTED, {"scene": self.scene, "game": self.game})
        elif state == OUTPUT_STOPPED and self.streaming:
            self.streaming = False
            self.entities.set("obs_streaming", False)
            self._fire(EVENT_STREAMING_STOPPED, {"scene": self.scene, "game": self.game})
        elif state == OUTPUT_RECONNECTING:
            self.entities.set("obs_streaming", True, reconnecting=True)

    async def _replay_state_changed(self, data: dict[str, Any]) -> None:
        self.replay_buffer = bool(data.get("outputActive"))
        self.entities.set("obs_replay_buffer", self.replay_buffer, available=True)

    async def _exit_started(self, data: dict[str, Any]) -> None:
        _LOGGER.info("%s is shutting down", self.conn.where)

    # -- drives ------------------------------------------------------------------------------------
    def _hand_to_drives(self, path: str) -> None:
        """Tell the drive watcher the file is closed, so file_closed fires without the quiet window."""
        drives = _find_drives(self.hub)
        if drives is None:
            return

        async def notify() -> None:
            try:
                await drives.notify_closed(path)
            except Exception:
                _LOGGER.exception("The drives integration failed on %s", path)

        self.hub.async_create_task(notify(), name="obs-notify-drives")

    # -- stats -------------------------------------------------------------------------------------
    async def _fresh_stats(self) -> dict[str, Any] | None:
        ws = self.conn.ws
        if ws is None:
            return None
        try:
            stats = await ws.request("GetStats")
        except ObsError:
            return None
        self.last_stats = stats
        return stats

    async def _poll_stats(self, ws: ObsWebSocket) -> None:
        """GetStats (and GetRecordStatus while recording) every `stats_interval` seconds."""
        while not ws.closed.done():
            await asyncio.sleep(self.config.stats_interval)
            if self._collection_changing:
                continue
            try:
                stats = await ws.request("GetStats")
                record = await ws.request("GetRecordStatus") if self.recording else None
            except ObsRequestError:
                continue  # NotReady during a collection change, for example
            except ObsConnectionError:
                return
            self.last_stats = stats
            self.entities.set_stats(stats)
            session = self.session
            if session is not None:
                _accumulate(session.metrics, stats, record)
            if record is not None:
                self._publish_recording(record)

    def _finalise_metrics(self, session: Session, ended: float) -> None:
        metrics = session.metrics
        metrics["duration"] = round(ended - session.started, 3)
        start, end = metrics.get("stats_start") or {}, metrics.get("stats_end") or _stats_snapshot(self.last_stats)
        for key in ("render_skipped_frames", "output_skipped_frames"):
            if key in start and key in end:
                metrics[key] = max(0, int(end[key]) - int(start[key]))
        samples = metrics.get("samples") or 0
        if samples:
            metrics["cpu_avg"] = round(metrics["cpu_sum"] / samples, 1)
            metrics["fps_avg"] = round(metrics["fps_sum"] / samples, 2)

    # -- services ----------------------------------------------------------------------------------
    async def add_marker(self, label: str | None) -> dict[str, Any]:
        session = self.session
        if session is None or not self.recording:
            raise ServiceError(f"OBS {self.name!r} is not recording: a marker belongs to a recording")
        now = time.time()
        offset = now - session.started
        try:
            record = await self.request("GetRecordStatus")
            if record.get("outputDuration") is not None:
                offset = float(record["outputDuration"]) / 1000  # OBS's own clock, pauses excluded
        except ObsError:
            pass
        chapter, note = False, None
        if not self.config.chapters:
            note = "chapters are turned off (obs: chapters: false); marker recorded in StreamOps only"
        elif CHAPTER_REQUEST not in self.available_requests:
            note = (
                f"OBS {self.version.get('obsVersion', '?')} (obs-websocket "
                f"{self.version.get('obsWebSocketVersion', '?')}) cannot add record chapters "
                "(needs OBS 30.2+ recording to Hybrid MP4); marker recorded in StreamOps only"
            )
        else:
            try:
                await self.request(CHAPTER_REQUEST, {"chapterName": label} if label else None)
                chapter = True
            except ObsError as err:
                note = f"{err}; marker recorded in StreamOps only"
        marker = {
            "offset": round(offset, 3),
            "label": label,
            "time": _iso(now),
            "chapter": chapter,
            "file": session.current_file,
        }
        session.markers.append(marker)
        await self.store.save_progress(session)
        self._fire(EVENT_MARKER, {"session_id": session.id, **marker, "note": note})
        return {"session_id": session.id, **marker, "note": note}

    async def set_game(self, game: str | None) -> dict[str, Any]:
        self.game_override = game or None
        session = self.session
        if session is not None:
            session.game = self.game_override or self.config.game_for(session.scene, session.profile)
            await self.store.save_progress(session)
        self._publish_game()
        return {"instance": self.name, "game": self.game, "session_id": session.id if session else None}


def _stats_snapshot(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "cpu": stats.get("cpuUsage"),
        "fps": stats.get("activeFps"),
        "render_skipped_frames": stats.get("renderSkippedFrames"),
        "output_skipped_frames": stats.get("outputSkippedFrames"),
        "disk_mb": stats.get("availableDiskSpace"),
    }


def _accumulate(metrics: dict[str, Any], stats: dict[str, Any], record: dict[str, Any] | None) -> None:
    cpu = float(stats.get("cpuUsage") or 0)
    fps = float(stats.get("activeFps") or 0)
    metrics["samples"] = int(metrics.get("samples") or 0) + 1
    metrics["cpu_sum"] = float(metrics.get("cpu_sum") or 0) + cpu
    metrics["fps_sum"] = float(metrics.get("fps_sum") or 0) + fps
    metrics["cpu_max"] = max(float(metrics.get("cpu_max") or 0), cpu)
    metrics["fps_min"] = min(float(metrics.get("fps_min") or fps), fps)
    if stats.get("availableDiskSpace") is not None:
        disk = float(stats["availableDiskSpace"])
        metrics["disk_min_mb"] = min(float(metrics.get("disk_min_mb") or disk), disk)
    if record is not None and record.get("outputBytes") is not None:
        metrics["bytes"] = int(record["outputBytes"])


def _find_drives(hub: Hub) -> Any:
    """The drives integration's manager (with `notify_closed`), if it is set up."""
    try:
        from integrations.drives import DRIVES
    except ImportError:
        return None
    return hub.data.get(DRIVES)
