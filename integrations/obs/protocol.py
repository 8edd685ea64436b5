"""A small asyncio client for the obs-websocket v5 protocol (the wire format OBS 28+ speaks).

Why not obsws-python (the library first chosen): measured against OBS 29 here, it
- logs the websocket password in clear text at INFO on every connection attempt (a reconnect loop
  would print the secret every few seconds);
- reports a wrong password as a generic "failed to identify client" error, because the close code
  4009 (AuthenticationFailed) is dropped — the user could not be told what is wrong;
- matches a response to a request by "the next message read", so after one timeout every later
  answer is the previous request's answer;
- needs two blocking sockets and a thread per OBS, whose event thread ends silently when OBS
  closes (no callback), so a disconnect is only noticed by polling.
The protocol itself is small: Hello (op 0), Identify (op 1), Identified (op 2), Event (op 5),
Request (op 6) / RequestResponse (op 7) correlated by requestId. Everything here runs on the event
loop, so no thread ever touches the hub.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

_LOGGER = logging.getLogger(__name__)

RPC_VERSION = 1

# EventSubscription bits (obs-websocket 5 protocol).
SUB_GENERAL = 1 << 0
SUB_CONFIG = 1 << 1
SUB_SCENES = 1 << 2
SUB_INPUTS = 1 << 3
SUB_OUTPUTS = 1 << 6
SUB_UI = 1 << 10
# What StreamOps needs: exit, profile/collection, scenes, outputs (record/stream/replay), inputs
# (mute), ui. Never the high-volume ones (volume meters), which would cost OBS for nothing.
DEFAULT_SUBSCRIPTIONS = SUB_GENERAL | SUB_CONFIG | SUB_SCENES | SUB_INPUTS | SUB_OUTPUTS | SUB_UI

CLOSE_AUTHENTICATION_FAILED = 4009
CLOSE_UNSUPPORTED_RPC_VERSION = 4010
CLOSE_SESSION_INVALIDATED = 4011

CLOSE_CODE_NAMES = {
    4000: "UnknownReason",
    4002: "MessageDecodeError",
    4003: "MissingDataField",
    4004: "InvalidDataFieldType",
    4005: "InvalidDataFieldValue",
    4006: "UnknownOpCode",
    4007: "NotIdentified",
    4008: "AlreadyIdentified",
    4009: "AuthenticationFailed",
    4010: "UnsupportedRpcVersion",
    4011: "SessionInvalidated",
    4012: "UnsupportedFeature",
}

STATUS_SUCCESS = 100
STATUS_UNKNOWN_REQUEST_TYPE = 204
STATUS_NOT_READY = 207

STATUS_NAMES = {
    203: "MissingRequestType",
    204: "UnknownRequestType",
    205: "GenericError",
    207: "NotReady",
    300: "MissingRequestField",
    301: "MissingRequestData",
    400: "InvalidRequestField",
    401: "InvalidRequestFieldType",
    402: "RequestFieldOutOfRange",
    403: "RequestFieldEmpty",
    404: "TooManyRequestFields",
    500: "OutputRunning",
    501: "OutputNotRunning",
    502: "OutputPaused",
    503: "OutputNotPaused",
    504: "OutputDisabled",
    505: "StudioModeActive",
    506: "StudioModeNotActive",
    600: "ResourceNotFound",
    601: "ResourceAlreadyExists",
    602: "InvalidResourceType",
    603: "NotEnoughResources",
    604: "InvalidResourceState",
    605: "InvalidInputKind",
    606: "ResourceNotConfigurable",
    607: "InvalidFilterKind",
    700: "ResourceCreationFailed",
    701: "ResourceActionFailed",
    702: "RequestProcessingFailed",
    703: "CannotAct",
}

EventCallback = Callable[[str, dict[str, Any]], None]


class ObsError(Exception):
    """Base of every error this client raises; the message is meant for the user."""


class ObsConnectionError(ObsError):
    """OBS could not be reached, or the connection dropped."""


class ObsAuthError(ObsError):
    """OBS rejected the password (close code 4009), or wants one and none is configured."""


class ObsRequestError(ObsError):
    """OBS answered a request with a failure status."""

    def __init__(self, request_type: str, code: int, comment: str | None) -> None:
        self.request_type = request_type
        self.code = code
        self.comment = comment
        name = STATUS_NAMES.get(code, "error")
        if code == STATUS_UNKNOWN_REQUEST_TYPE:
            message = (
                f"OBS does not support the request {request_type} (code 204 UnknownRequestType): "
                "this OBS / obs-websocket version is too old for it"
            )
        else:
            message = f"OBS refused {request_type}: {comment or name} (code {code} {name})"
        super().__init__(message)

    @property
    def unsupported(self) -> bool:
        return self.code == STATUS_UNKNOWN_REQUEST_TYPE


def auth_string(password: str, salt: str, challenge: str) -> str:
    """base64(sha256(base64(sha256(password + salt)) + challenge)), as the protocol specifies."""
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest())
    return base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()


def describe_close(code: int | None) -> str:
    if code is None:
        return "connection lost"
    name = CLOSE_CODE_NAMES.get(code)
    return f"closed with code {code} {name}" if name else f"closed with code {code}"


@dataclass(frozen=True)
class Identified:
    obs_websocket_version: str
    rpc_version: int
    authenticated: bool


class ObsWebSocket:
    """One identified connection to obs-websocket. Create with `connect`; `closed` says when it ends.

    Events are delivered by calling `on_event(event_type, event_data)` on the loop, in order, from
    the single reader task; a slow consumer never blocks it because the callback must not await.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
        identified: Identified,
        on_event: EventCallback,
        request_timeout: float,
    ) -> None:
        self._session = session
        self._ws = ws
        self.identified = identified
        self._on_event = on_event
        self._request_timeout = request_timeout
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.get_running_loop().create_task(self._read_loop(), name="obs-websocket-reader")

    # -- connecting ------------------------------------------------------------------------------
    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        password: str,
        on_event: EventCallback,
        *,
        subscriptions: int = DEFAULT_SUBSCRIPTIONS,
        timeout: float = 5.0,
    ) -> ObsWebSocket:
        """Open, read Hello, send Identify (with the challenge answer), wait for Identified."""
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout))
        try:
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
                # that arrives as the inner call fails (connection refused), and the hub's stop
                # would then wait for a reconnect loop that never ends.
                async with asyncio.timeout(timeout):
                    ws = await session.ws_connect(
                        f"ws://{_host_for_url(host)}:{port}",
                        protocols=("obswebsocket.json",),
                        heartbeat=15.0,
                        autoping=True,
                        max_msg_size=64 * 1024 * 1024,
                    )
            except TimeoutError as err:
                raise ObsConnectionError(f"no answer from {host}:{port} within {timeout:g} s") from err
            except aiohttp.WSServerHandshakeError as err:
                raise ObsConnectionError(f"{host}:{port} is not an obs-websocket server ({err.status})") from err
            except (aiohttp.ClientError, OSError) as err:
                raise ObsConnectionError(_connect_reason(err, host, port)) from err
            try:
                async with asyncio.timeout(timeout):
                    identified = await cls._handshake(ws, host, port, password, subscriptions)
            except TimeoutError as err:
                await ws.close()
                raise ObsConnectionError(f"{host}:{port} did not complete the obs-websocket handshake") from err
            except BaseException:
                await ws.close()
                raise
        except BaseException:
            await session.close()
            raise
        return cls(session, ws, identified, on_event, timeout)

    @staticmethod
    async def _handshake(
        ws: aiohttp.ClientWebSocketResponse, host: str, port: int, password: str, subscriptions: int
    ) -> Identified:
        hello = await _receive_json(ws, host, port, "Hello")
        if hello.get("op") != 0:
            raise ObsConnectionError(f"{host}:{port} sent op {hello.get('op')} instead of Hello: not obs-websocket 5")
        data = hello.get("d") or {}
        server_rpc = int(data.get("rpcVersion", RPC_VERSION))
        identify: dict[str, Any] = {"rpcVersion": min(server_rpc, RPC_VERSION), "eventSubscriptions": subscriptions}
        auth = data.get("authentication")
        if auth:
            if not password:
                raise ObsAuthError(
                    f"OBS at {host}:{port} requires a password and none is configured "
                    "(set obs: password: !secret obs_password, or OBS_WS_PASSWORD)"
                )
            identify["authentication"] = auth_string(password, auth["salt"], auth["challenge"])
        await ws.send_str(json.dumps({"op": 1, "d": identify}))
        reply = await _receive_json(ws, host, port, "Identified", password_sent=bool(auth))
        if reply.get("op") != 2:
            raise ObsConnectionError(f"{host}:{port} answered Identify with op {reply.get('op')}, not Identified")
        return Identified(
            obs_websocket_version=str(data.get("obsWebSocketVersion", "?")),
            rpc_version=int((reply.get("d") or {}).get("negotiatedRpcVersion", RPC_VERSION)),
            authenticated=bool(auth),
        )

    # -- running ---------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        code: int | None = None
        try:
            async for msg in self._ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._dispatch(msg.data)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    break
            code = self._ws.close_code
        except asyncio.CancelledError:
            code = self._ws.close_code
            raise
        except Exception:  # a malformed frame must not kill the hub, only this connection
            _LOGGER.exception("obs-websocket reader failed")
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ObsConnectionError(f"OBS connection {describe_close(code)}"))
            self._pending.clear()
            if not self.closed.done():
                self.closed.set_result(code)
            await self._session.close()

    def _dispatch(self, text: str) -> None:
        try:
            message = json.loads(text)
            op = message["op"]
            data = message.get("d") or {}
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("Ignoring a malformed obs-websocket message: %.200s", text)
            return
        if op == 5:
            try:
                self._on_event(str(data.get("eventType")), data.get("eventData") or {})
            except Exception:
                _LOGGER.exception("Error handling OBS event %s", data.get("eventType"))
        elif op == 7:
            future = self._pending.pop(str(data.get("requestId")), None)
            if future is not None and not future.done():
                future.set_result(data)
        # op 2 (a Reidentify answer) and unknown ops: nothing to do.

    async def request(
        self, request_type: str, request_data: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a Request and return its responseData; raises ObsRequestError on a failure status."""
        if self.closed.done():
            raise ObsConnectionError("OBS is not connected")
        request_id = str(next(self._ids))
        payload: dict[str, Any] = {"requestType": request_type, "requestId": request_id}
        if request_data:
            payload["requestData"] = request_data
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._ws.send_str(json.dumps({"op": 6, "d": payload}))
            async with asyncio.timeout(timeout or self._request_timeout):
                response = await future
        except TimeoutError as err:
            waited = timeout or self._request_timeout
            raise ObsConnectionError(f"OBS did not answer {request_type} within {waited:g} s") from err
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as err:
            raise ObsConnectionError(f"OBS connection lost while sending {request_type}: {err}") from err
        finally:
            # A late answer finds no future and is dropped: ids are never reused, so it cannot be
            # mistaken for the answer to a later request.
            self._pending.pop(request_id, None)
        status = response.get("requestStatus") or {}
        if not status.get("result"):
            raise ObsRequestError(request_type, int(status.get("code", 0)), status.get("comment"))
        return response.get("responseData") or {}

    async def close(self) -> None:
        if not self._ws.closed:
            await self._ws.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), 5)
        except (TimeoutError, asyncio.CancelledError):
            self._reader.cancel()
        if not self._session.closed:
            await self._session.close()


async def _receive_json(
    ws: aiohttp.ClientWebSocketResponse, host: str, port: int, expected: str, *, password_sent: bool = False
) -> dict[str, Any]:
    msg = await ws.receive()
    if msg.type == aiohttp.WSMsgType.TEXT:
        try:
            return dict(json.loads(msg.data))
        except (ValueError, TypeError) as err:
            raise ObsConnectionError(f"{host}:{port} sent a malformed {expected} message") from err
    code = ws.close_code
    if code == CLOSE_AUTHENTICATION_FAILED:
        raise ObsAuthError(
            f"OBS at {host}:{port} rejected the password (close code 4009 AuthenticationFailed): "
            "check obs: password (or OBS_WS_PASSWORD) against OBS → Tools → WebSocket Server Settings"
        )
    if code == CLOSE_UNSUPPORTED_RPC_VERSION:
        raise ObsConnectionError(f"OBS at {host}:{port} does not speak obs-websocket RPC version {RPC_VERSION}")
    raise ObsConnectionError(f"OBS at {host}:{port} {describe_close(code)} before {expected}")


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _connect_reason(err: BaseException, host: str, port: int) -> str:
    cause = getattr(err, "os_error", None) or err.__cause__ or err
    text = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    return f"cannot reach OBS at {host}:{port}: {text}"
