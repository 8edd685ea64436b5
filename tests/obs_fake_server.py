"""A test obs-websocket v5 server, written from the protocol documentation.

It speaks the real wire protocol — Hello with an authentication challenge and salt, Identify
checked with the SHA-256 scheme, Identified, Request/RequestResponse with requestStatus, Event
with eventIntent delivered only to clients whose eventSubscriptions include it, and the close
codes (4009 AuthenticationFailed, 4007 NotIdentified, 4006 UnknownOpCode, 4002
MessageDecodeError) — over a real aiohttp websocket on a loopback port. Its OBS state (scenes,
recording, stream, replay buffer, profile) is controllable from the test and changes emit the
events real OBS emits.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

GENERAL, CONFIG, SCENES, INPUTS, OUTPUTS, UI = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 6, 1 << 10
ALL_LOW_VOLUME = (1 << 11) - 1

EVENT_INTENTS = {
    "ExitStarted": GENERAL,
    "CurrentProfileChanged": CONFIG,
    "CurrentSceneCollectionChanging": CONFIG,
    "CurrentSceneCollectionChanged": CONFIG,
    "CurrentProgramSceneChanged": SCENES,
    "InputMuteStateChanged": INPUTS,
    "StreamStateChanged": OUTPUTS,
    "RecordStateChanged": OUTPUTS,
    "RecordFileChanged": OUTPUTS,
    "ReplayBufferStateChanged": OUTPUTS,
    "ReplayBufferSaved": OUTPUTS,
    "StudioModeStateChanged": UI,
}

BASE_REQUESTS = {
    "GetVersion",
    "GetStats",
    "GetCurrentProgramScene",
    "SetCurrentProgramScene",
    "GetSceneList",
    "GetProfileList",
    "GetSceneCollectionList",
    "GetRecordStatus",
    "StartRecord",
    "StopRecord",
    "ToggleRecord",
    "GetStreamStatus",
    "StartStream",
    "StopStream",
    "GetReplayBufferStatus",
    "SaveReplayBuffer",
    "SetInputMute",
    "GetInputMute",
    "GetRecordDirectory",
}
NEW_REQUESTS = {"CreateRecordChapter", "SplitRecordFile"}  # obs-websocket 5.5 (OBS 30.2)

_O = "OBS_WEBSOCKET_OUTPUT_"


@dataclass
class FakeClient:
    ws: web.WebSocketResponse
    identified: bool = False
    subscriptions: int = 0
    rpc_version: int = 1


@dataclass
class FakeObsState:
    scenes: list[str] = field(default_factory=lambda: ["Intro", "Gameplay", "Elden Ring", "Outro"])
    scene: str = "Intro"
    profiles: list[str] = field(default_factory=lambda: ["Streaming", "Valorant"])
    profile: str = "Streaming"
    collections: list[str] = field(default_factory=lambda: ["Main"])
    collection: str = "Main"
    recording: bool = False
    record_paused: bool = False
    record_started: float = 0.0
    record_path: str | None = None
    streaming: bool = False
    replay_available: bool = True
    replay_active: bool = False
    inputs: dict[str, bool] = field(default_factory=lambda: {"Mic/Aux": False, "Desktop Audio": False})
    chapters: list[str] = field(default_factory=list)
    file_counter: int = 0


class FakeObsServer:
    """`await server.start()`; then connect to ws://127.0.0.1:{server.port}."""

    def __init__(
        self,
        record_dir: Path,
        *,
        password: str | None = "secret",
        obs_version: str = "30.2.3",
        websocket_version: str = "5.5.2",
        supports_chapters: bool = True,
        path_on_start: bool = True,  # OBS 29 names the file in RecordStateChanged STARTED
        extension: str = "mkv",
    ) -> None:
        self.record_dir = Path(record_dir)
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self.password = password
        self.obs_version = obs_version
        self.websocket_version = websocket_version
        self.available = set(BASE_REQUESTS) | (NEW_REQUESTS if supports_chapters else set())
        self.path_on_start = path_on_start
        self.extension = extension
        self.state = FakeObsState()
        self.clients: list[FakeClient] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.delays: dict[str, float] = {}  # request type → seconds before OBS answers it
        self.silent = False  # accept connections but never say Hello (a hung OBS)
        self.auth_failures = 0
        self.connections = 0
        self.identified = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # -- server life -----------------------------------------------------------------------------
    async def start(self, port: int = 0) -> int:
        app = web.Application()
        app.router.add_get("/", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", port or self.port or 0)
        await self._site.start()
        server = self._site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self, *, exit_event: bool = True) -> None:
        """OBS quits: ExitStarted, then every connection closes and the port stops listening."""
        if exit_event:
            await self.emit("ExitStarted", {})
        for client in list(self.clients):
            await client.ws.close(code=1001, message=b"Server stopping.")
        self.clients.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.identified.clear()

    async def drop_connections(self, code: int = 1001) -> None:
        for client in list(self.clients):
            await client.ws.close(code=code)
        self.clients.clear()
        self.identified.clear()

    # -- protocol --------------------------------------------------------------------------------
    def _hello(self) -> tuple[dict[str, Any], str | None, str | None]:
        data: dict[str, Any] = {"obsWebSocketVersion": self.websocket_version, "rpcVersion": 1}
        if self.password is None:
            return data, None, None
        salt = base64.b64encode(os.urandom(32)).decode()
        challenge = base64.b64encode(os.urandom(32)).decode()
        data["authentication"] = {"challenge": challenge, "salt": salt}
        return data, salt, challenge

    def _expected_auth(self, salt: str, challenge: str) -> str:
        assert self.password is not None
        secret = base64.b64encode(hashlib.sha256((self.password + salt).encode()).digest())
        return base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("obswebsocket.json",), autoping=True)
        await ws.prepare(request)
        self.connections += 1
        client = FakeClient(ws)
        self.clients.append(client)
        hello, salt, challenge = self._hello()
        if not self.silent:
            await ws.send_str(json.dumps({"op": 0, "d": hello}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Binary frames are not supported with JSON.")
                    break
                try:
                    message = json.loads(msg.data)
                    op, data = message["op"], message.get("d") or {}
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=4002, message=b"Unable to decode the message.")
                    break
                if not client.identified:
                    if op != 1:
                        await ws.close(code=4007, message=b"You must identify before sending other messages.")
                        break
                    if salt is not None and challenge is not None:
                        if data.get("authentication") != self._expected_auth(salt, challenge):
                            self.auth_failures += 1
                            await ws.close(code=4009, message=b"Authentication failed.")
                            break
                    client.identified = True
                    client.subscriptions = int(data.get("eventSubscriptions", ALL_LOW_VOLUME))
                    await ws.send_str(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
                    self.identified.set()
                elif op == 3:
                    client.subscriptions = int(data.get("eventSubscriptions", ALL_LOW_VOLUME))
                    await ws.send_str(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
                elif op == 6:
                    delay = self.delays.get(str(data.get("requestType")), 0.0)
                    if delay:
                        # Answered later, while other requests are answered meanwhile (as OBS does
                        # when one request is slow).
                        asyncio.get_running_loop().create_task(self._answer_later(ws, data, delay))
                    else:
                        await ws.send_str(json.dumps({"op": 7, "d": await self._request(data)}))
                else:
                    await ws.close(code=4006, message=b"Unknown OpCode.")
                    break
        finally:
            if client in self.clients:
                self.clients.remove(client)
        return ws

    async def _answer_later(self, ws: web.WebSocketResponse, data: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        if not ws.closed:
            await ws.send_str(json.dumps({"op": 7, "d": await self._request(data)}))

    async def emit(self, event_type: str, event_data: dict[str, Any]) -> None:
        intent = EVENT_INTENTS[event_type]
        payload = json.dumps({"op": 5, "d": {"eventType": event_type, "eventIntent": intent, "eventData": event_data}})
        for client in list(self.clients):
            if client.identified and client.subscriptions & intent and not client.ws.closed:
                await client.ws.send_str(payload)

    async def _request(self, data: dict[str, Any]) -> dict[str, Any]:
        request_type = str(data.get("requestType"))
        request_data = data.get("requestData") or {}
        self.requests.append((request_type, request_data))
        base = {"requestType": request_type, "requestId": data.get("requestId")}
        if request_type not in self.available:
            return base | _status(False, 204, "Your request type is not valid.")
        try:
            response = await getattr(self, f"_r_{request_type}")(request_data)
        except _Fail as fail:
            return base | _status(False, fail.code, fail.comment)
        result = base | _status(True, 100)
        if response:
            result["responseData"] = response
        return result

    # -- requests --------------------------------------------------------------------------------
    async def _r_GetVersion(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "obsVersion": self.obs_version,
            "obsWebSocketVersion": self.websocket_version,
            "rpcVersion": 1,
            "availableRequests": sorted(self.available),
            "supportedImageFormats": ["png", "jpg"],
            "platform": "fake",
            "platformDescription": "StreamOps test server",
        }

    async def _r_GetStats(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "cpuUsage": 3.5,
            "memoryUsage": 256.0,
            "availableDiskSpace": 120000.0,
            "activeFps": 60.0,
            "averageFrameRenderTime": 1.2,
            "renderSkippedFrames": 2,
            "renderTotalFrames": 1000,
            "outputSkippedFrames": 0,
            "outputTotalFrames": 900,
            "webSocketSessionIncomingMessages": len(self.requests),
            "webSocketSessionOutgoingMessages": len(self.requests),
        }

    async def _r_GetCurrentProgramScene(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"currentProgramSceneName": self.state.scene, "sceneName": self.state.scene}

    async def _r_GetSceneList(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "currentProgramSceneName": self.state.scene,
            "scenes": [{"sceneName": name, "sceneIndex": i} for i, name in enumerate(self.state.scenes)],
        }

    async def _r_SetCurrentProgramScene(self, data: dict[str, Any]) -> None:
        name = data.get("sceneName")
        if not name:
            raise _Fail(300, "Your request is missing the `sceneName` field.")
        if name not in self.state.scenes:
            raise _Fail(600, f"No source was found by the name of `{name}`.")
        await self.set_scene(name)

    async def _r_GetProfileList(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"currentProfileName": self.state.profile, "profiles": list(self.state.profiles)}

    async def _r_GetSceneCollectionList(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"currentSceneCollectionName": self.state.collection, "sceneCollections": list(self.state.collections)}

    async def _r_GetRecordStatus(self, data: dict[str, Any]) -> dict[str, Any]:
        duration = int((time.time() - self.state.record_started) * 1000) if self.state.recording else 0
        path = self.state.record_path
        size = _size(path) if self.state.recording and path else 0
        return {
            "outputActive": self.state.recording,
            "outputPaused": self.state.record_paused,
            "outputTimecode": f"00:00:{duration // 1000:02d}.{duration % 1000:03d}",
            "outputDuration": duration,
            "outputBytes": size,
        }

    async def _r_StartRecord(self, data: dict[str, Any]) -> None:
        if self.state.recording:
            raise _Fail(500, "The record output is already running.")
        await self.start_recording()

    async def _r_StopRecord(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.state.recording:
            raise _Fail(501, "The record output is not running.")
        return {"outputPath": await self.stop_recording()}

    async def _r_ToggleRecord(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.state.recording:
            await self.stop_recording()
        else:
            await self.start_recording()
        return {"outputActive": self.state.recording}

    async def _r_GetStreamStatus(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"outputActive": self.state.streaming, "outputReconnecting": False, "outputDuration": 0}

    async def _r_StartStream(self, data: dict[str, Any]) -> None:
        if self.state.streaming:
            raise _Fail(500, "The stream output is already running.")
        self.state.streaming = True
        await self.emit("StreamStateChanged", {"outputActive": True, "outputState": _O + "STARTING"})
        await self.emit("StreamStateChanged", {"outputActive": True, "outputState": _O + "STARTED"})

    async def _r_StopStream(self, data: dict[str, Any]) -> None:
        if not self.state.streaming:
            raise _Fail(501, "The stream output is not running.")
        self.state.streaming = False
        await self.emit("StreamStateChanged", {"outputActive": False, "outputState": _O + "STOPPING"})
        await self.emit("StreamStateChanged", {"outputActive": False, "outputState": _O + "STOPPED"})

    async def _r_GetReplayBufferStatus(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.state.replay_available:
            raise _Fail(604, "Replay buffer is not available.")
        return {"outputActive": self.state.replay_active}

    async def _r_SaveReplayBuffer(self, data: dict[str, Any]) -> None:
        if not self.state.replay_available:
            raise _Fail(604, "Replay buffer is not available.")
        if not self.state.replay_active:
            raise _Fail(501, "The replay buffer output is not running.")
        await self.save_replay()

    async def _r_SetInputMute(self, data: dict[str, Any]) -> None:
        name = data.get("inputName")
        if name not in self.state.inputs:
            raise _Fail(600, f"No source was found by the name of `{name}`.")
        if not isinstance(data.get("inputMuted"), bool):
            raise _Fail(300, "Your request is missing the `inputMuted` field.")
        self.state.inputs[name] = data["inputMuted"]
        await self.emit("InputMuteStateChanged", {"inputName": name, "inputMuted": data["inputMuted"]})

    async def _r_GetInputMute(self, data: dict[str, Any]) -> dict[str, Any]:
        name = data.get("inputName")
        if name not in self.state.inputs:
            raise _Fail(600, f"No source was found by the name of `{name}`.")
        return {"inputMuted": self.state.inputs[name]}

    async def _r_GetRecordDirectory(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"recordDirectory": str(self.record_dir)}

    async def _r_CreateRecordChapter(self, data: dict[str, Any]) -> None:
        if not self.state.recording:
            raise _Fail(501, "The record output is not running.")
        if self.extension != "mp4":
            raise _Fail(702, "Failed to add chapter: the current recording format does not support chapters.")
        self.state.chapters.append(str(data.get("chapterName") or f"Chapter {len(self.state.chapters) + 1}"))

    async def _r_SplitRecordFile(self, data: dict[str, Any]) -> None:
        if not self.state.recording:
            raise _Fail(501, "The record output is not running.")
        await self.split_recording()

    # -- OBS-side actions (what the streamer does in OBS) -----------------------------------------
    def _new_path(self, prefix: str = "") -> str:
        self.state.file_counter += 1
        stamp = time.strftime("%Y-%m-%d %H-%M-%S")
        path = self.record_dir / f"{prefix}{stamp} {self.state.file_counter:03d}.{self.extension}"
        path.write_bytes(b"\x1a\x45\xdf\xa3" + os.urandom(2048))  # an EBML header and some bytes
        return str(path)

    async def start_recording(self) -> str:
        self.state.recording = True
        self.state.record_started = time.time()
        self.state.record_path = self._new_path()
        await self.emit(
            "RecordStateChanged", {"outputActive": False, "outputState": _O + "STARTING", "outputPath": None}
        )
        await self.emit(
            "RecordStateChanged",
            {
                "outputActive": True,
                "outputState": _O + "STARTED",
                "outputPath": self.state.record_path if self.path_on_start else None,
            },
        )
        return self.state.record_path

    async def stop_recording(self) -> str:
        path = self.state.record_path
        assert path is not None
        _append(path, os.urandom(1024))
        self.state.recording = False
        self.state.record_paused = False
        await self.emit(
            "RecordStateChanged", {"outputActive": True, "outputState": _O + "STOPPING", "outputPath": None}
        )
        await self.emit(
            "RecordStateChanged", {"outputActive": False, "outputState": _O + "STOPPED", "outputPath": path}
        )
        return path

    async def split_recording(self) -> str:
        self.state.record_path = self._new_path()
        await self.emit("RecordFileChanged", {"newOutputPath": self.state.record_path})
        return self.state.record_path

    async def pause_recording(self, paused: bool = True) -> None:
        self.state.record_paused = paused
        state = "PAUSED" if paused else "RESUMED"
        await self.emit("RecordStateChanged", {"outputActive": True, "outputState": _O + state, "outputPath": None})

    async def set_scene(self, name: str) -> None:
        self.state.scene = name
        await self.emit("CurrentProgramSceneChanged", {"sceneName": name, "sceneUuid": f"uuid-{name}"})

    async def set_profile(self, name: str) -> None:
        self.state.profile = name
        await self.emit("CurrentProfileChanged", {"profileName": name})

    async def start_replay_buffer(self) -> None:
        self.state.replay_active = True
        await self.emit("ReplayBufferStateChanged", {"outputActive": True, "outputState": _O + "STARTED"})

    async def save_replay(self) -> str:
        path = self._new_path("Replay ")
        await self.emit("ReplayBufferSaved", {"savedReplayPath": path})
        return path


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _append(path: str, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


class _Fail(Exception):
    def __init__(self, code: int, comment: str) -> None:
        super().__init__(comment)
        self.code = code
        self.comment = comment


def _status(ok: bool, code: int, comment: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"result": ok, "code": code}
    if comment:
        status["comment"] = comment
    return {"requestStatus": status}
