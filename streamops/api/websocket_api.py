"""The WebSocket API at `/api/websocket`, wire-compatible with Home Assistant's.

Protocol (what HA client libraries expect): the server sends `auth_required`; the client answers
`{"type": "auth", "access_token": TOKEN}` and gets `auth_ok` or `auth_invalid` (then the socket
closes). A browser holding the login cookie may send `{"type": "auth"}` without `access_token`:
the cookie sent with the upgrade request authenticates it. Then every command carries an integer
`id` that must increase; replies are `{"id", "type": "result", "success", "result" | "error"}` and
subscription events `{"id", "type": "event", "event"}`.

Memory is bounded per client: replies and events go into a queue drained by one writer task. A
client that reads too slowly lets the queue grow; past `ws_max_pending` messages it is cut off
(logged) instead of the hub buffering without limit — Home Assistant's answer to the same problem.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from aiohttp import WSMsgType, web

from .. import __version__
from ..core import Context, Event, Hub, HubKey, ServiceNotFound, ServiceValidationError
from ..core.services import ServiceError, humanize_invalid
from .auth import AuthInfo, auth_info, validate_token
from .helpers import json_dumps
from .security import AUTH_KEY, SESSION_COOKIE, authenticate

if TYPE_CHECKING:
    from .server import HttpServer

_LOGGER = logging.getLogger(__name__)

# The Home Assistant version whose WebSocket protocol this speaks; clients gate features on it.
HA_VERSION = "2024.1.0"
AUTH_TIMEOUT = 10.0
MAX_INCOMING_MESSAGE = 4 * 1024 * 1024
# Coalesced frames stay well below a client's default max message size (aiohttp: 4 MiB).
_COALESCE_MAX_MESSAGES = 256
_COALESCE_MAX_BYTES = 512 * 1024

# Error codes, as Home Assistant names them.
ERR_ID_REUSE = "id_reuse"
ERR_INVALID_FORMAT = "invalid_format"
ERR_NOT_FOUND = "not_found"
ERR_NOT_SUPPORTED = "not_supported"
ERR_UNKNOWN_COMMAND = "unknown_command"
ERR_UNKNOWN_ERROR = "unknown_error"
ERR_HOME_ASSISTANT_ERROR = "home_assistant_error"
ERR_SERVICE_VALIDATION_ERROR = "service_validation_error"
ERR_UNAUTHORIZED = "unauthorized"

CommandHandler = Callable[[Hub, "ActiveConnection", dict[str, Any]], Awaitable[None] | None]


class _Command:
    __slots__ = ("handler", "is_async", "schema")

    def __init__(self, handler: CommandHandler, schema: vol.Schema | None) -> None:
        self.handler = handler
        self.schema = schema
        self.is_async = inspect.iscoroutinefunction(handler)


WS_COMMANDS: HubKey[dict[str, _Command]] = HubKey("http.websocket_commands")

_BASE_SCHEMA = {vol.Required("id"): int, vol.Required("type"): str}


def async_register_command(
    hub: Hub,
    command_type: str,
    handler: CommandHandler,
    schema: vol.Schema | Mapping[Any, Any] | None = None,
) -> None:
    """Add (or replace) a WebSocket command; components call this during setup.

    `handler(hub, connection, msg)` — sync or async — answers with `connection.send_result(msg["id"],
    result)` / `send_error(...)`, or keeps a subscription in `connection.subscriptions[msg["id"]]`
    (an unsubscribe callable). Raising ServiceError / ServiceValidationError / vol.Invalid becomes
    the matching error reply. `schema` describes the keys besides `id` and `type` (a dict or a
    dict-based vol.Schema); unknown keys are rejected, as Home Assistant does. Without a schema the
    message is passed unvalidated.
    """
    if schema is None:
        full = None
    elif isinstance(schema, vol.Schema):
        full = schema.extend(_BASE_SCHEMA)
    else:
        full = vol.Schema({**_BASE_SCHEMA, **schema})
    commands = hub.data.get(WS_COMMANDS)
    if commands is None:
        commands = hub.data[WS_COMMANDS] = {}
    commands[command_type] = _Command(handler, full)


def result_message(msg_id: int | None, result: Any = None) -> str:
    return json_dumps({"id": msg_id, "type": "result", "success": True, "result": result})


def error_message(msg_id: int | None, code: str, message: str) -> str:
    return json_dumps({"id": msg_id, "type": "result", "success": False, "error": {"code": code, "message": message}})


# Every subscriber of an event gets the same serialised event: keep the last one, so several
# subscriptions to one event cost one json.dumps, not one each.
_last_event: Event | None = None
_last_event_json = ""


def event_json(event: Event) -> str:
    global _last_event, _last_event_json
    if event is not _last_event:
        _last_event_json = json_dumps(event.as_dict())
        _last_event = event
    return _last_event_json


def event_message(msg_id: int, event: Event) -> str:
    return f'{{"id":{msg_id},"type":"event","event":{event_json(event)}}}'


class EventFanout:
    """One bus listener per event type for all `subscribe_events` subscriptions of all clients.

    With 100 dashboards watching state_changed, the bus calls one listener, which serialises the
    event once and appends it to 100 queues — instead of 100 listener dispatches per event.
    """

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._subscribers: dict[str, dict[object, tuple[ActiveConnection, int]]] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}

    def add(self, event_type: str, connection: ActiveConnection, msg_id: int) -> Callable[[], None]:
        subscribers = self._subscribers.get(event_type)
        if subscribers is None:
            subscribers = self._subscribers[event_type] = {}
            self._unsubscribe[event_type] = self._hub.bus.async_listen(
                event_type, lambda event: self._dispatch(subscribers, event)
            )
        key = object()
        subscribers[key] = (connection, msg_id)

        def remove() -> None:
            if subscribers.pop(key, None) is not None and not subscribers:
                self._subscribers.pop(event_type, None)
                unsubscribe = self._unsubscribe.pop(event_type, None)
                if unsubscribe is not None:
                    unsubscribe()

        return remove

    @staticmethod
    def _dispatch(subscribers: dict[object, tuple[ActiveConnection, int]], event: Event) -> None:
        payload = event_json(event)
        # A snapshot: a client cut off while we fan out unsubscribes from this very dict.
        for connection, msg_id in tuple(subscribers.values()):
            connection.send_message(f'{{"id":{msg_id},"type":"event","event":{payload}}}')


def event_fanout(hub: Hub) -> EventFanout:
    fanout = hub.data.get(EVENT_FANOUT)
    if fanout is None:
        fanout = hub.data[EVENT_FANOUT] = EventFanout(hub)
    return fanout


EVENT_FANOUT: HubKey[EventFanout] = HubKey("http.websocket_event_fanout")


class ActiveConnection:
    """One authenticated WebSocket client: its subscriptions, its outgoing queue and writer."""

    def __init__(
        self, server: HttpServer, ws: web.WebSocketResponse, request: web.Request, auth: AuthInfo, max_pending: int
    ) -> None:
        self.server = server
        self.hub = server.hub
        self.ws = ws
        self.request = request
        self.auth = auth
        self.max_pending = max_pending
        self.subscriptions: dict[int, Callable[[], None]] = {}
        self.last_id = 0
        self.coalesce = False
        self.closed = False
        self.peak_pending = 0
        self._queue: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writer: asyncio.Task[None] | None = None
        self.description = f"{request.remote} (token {auth.token_id} '{auth.name}')"

    # -- outgoing ---------------------------------------------------------------------------------
    def send_message(self, message: str | dict[str, Any]) -> None:
        """Queue a message (a dict or an already serialised JSON object) for the writer."""
        if self.closed:
            return
        queue = self._queue
        queue.append(message if isinstance(message, str) else json_dumps(message))
        pending = len(queue)
        if pending > self.peak_pending:
            self.peak_pending = pending
            if pending > self.max_pending:
                self._cut_off()
                return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def send_result(self, msg_id: int, result: Any = None) -> None:
        self.send_message(result_message(msg_id, result))

    def send_error(self, msg_id: int | None, code: str, message: str) -> None:
        self.send_message(error_message(msg_id, code, message))

    def send_event(self, msg_id: int, event: Event | Mapping[str, Any]) -> None:
        """A subscription event: a bus Event (serialised once for all clients) or a plain dict."""
        if isinstance(event, Event):
            self.send_message(event_message(msg_id, event))
        else:
            self.send_message(f'{{"id":{msg_id},"type":"event","event":{json_dumps(event)}}}')

    def context(self, msg: Mapping[str, Any] | None = None) -> Context:
        return self.auth.context()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _cut_off(self) -> None:
        _LOGGER.warning(
            "WebSocket client %s cut off: more than %d messages waiting (http: ws_max_pending); it reads too slowly",
            self.description,
            self.max_pending,
        )
        self.server.ws_cut_off += 1
        self.close()

    def close(self) -> None:
        """Drop everything queued and the TCP connection at once (a stuck client cannot be waited on)."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        for unsub in self.subscriptions.values():
            unsub()
        self.subscriptions.clear()
        if self._writer is not None:
            self._writer.cancel()
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def async_close(self, code: int, message: str) -> None:
        """Close politely (a close frame clients understand); abort if the client does not answer."""
        if self.closed:
            return
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=message.encode()), timeout=1.0)
        except (TimeoutError, ConnectionError):
            pass
        self.close()

    async def _write_loop(self) -> None:
        ws, queue = self.ws, self._queue
        loop = asyncio.get_running_loop()
        while not self.closed:
            if not queue:
                self._waiter = loop.create_future()
                await self._waiter
                self._waiter = None
                continue
            if self.coalesce and len(queue) > 1:
                batch = [queue.popleft()]
                size = len(batch[0])
                while queue and len(batch) < _COALESCE_MAX_MESSAGES and size < _COALESCE_MAX_BYTES:
                    item = queue.popleft()
                    size += len(item)
                    batch.append(item)
                payload = "[" + ",".join(batch) + "]" if len(batch) > 1 else batch[0]
            else:
                payload = queue.popleft()
            try:
                await ws.send_str(payload)
            except (ConnectionError, RuntimeError) as err:
                _LOGGER.debug("WebSocket client %s went away while writing: %s", self.description, err)
                self.close()
                return

    # -- incoming ---------------------------------------------------------------------------------
    def handle_text(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError as err:
            self.send_error(None, ERR_INVALID_FORMAT, f"invalid JSON: {err}")
            return
        for msg in data if isinstance(data, list) else (data,):
            self.handle_message(msg)

    def handle_message(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            self.send_error(None, ERR_INVALID_FORMAT, "message must be a JSON object with an integer id and a type")
            return
        msg_id = msg.get("id")
        if type(msg_id) is not int or not isinstance(msg.get("type"), str):
            self.send_error(
                msg_id if type(msg_id) is int else None,
                ERR_INVALID_FORMAT,
                "message incorrectly formatted: expected an integer 'id' and a string 'type'",
            )
            return
        if msg_id <= self.last_id:
            self.send_error(msg_id, ERR_ID_REUSE, "Identifier values have to increase.")
            return
        self.last_id = msg_id
        commands = self.hub.data.get(WS_COMMANDS, {})
        command = commands.get(msg["type"])
        if command is None:
            self.send_error(msg_id, ERR_UNKNOWN_COMMAND, f"Unknown command: {msg['type']}")
            return
        if command.schema is not None:
            try:
                msg = command.schema(msg)
            except vol.Invalid as err:
                self.send_error(msg_id, ERR_INVALID_FORMAT, f"invalid {msg['type']} message: {humanize_invalid(err)}")
                return
        if command.is_async:
            task = asyncio.get_running_loop().create_task(self._run_async(command, msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        try:
            result = command.handler(self.hub, self, msg)
            if inspect.isawaitable(result):
                task = asyncio.get_running_loop().create_task(self._await(result, msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception as err:
            self.handle_exception(msg, err)

    async def _run_async(self, command: _Command, msg: dict[str, Any]) -> None:
        try:
            await command.handler(self.hub, self, msg)  # type: ignore[misc]
        except Exception as err:
            self.handle_exception(msg, err)

    async def _await(self, awaitable: Awaitable[Any], msg: dict[str, Any]) -> None:
        try:
            await awaitable
        except Exception as err:
            self.handle_exception(msg, err)

    def handle_exception(self, msg: Mapping[str, Any], err: Exception) -> None:
        """Map a command's exception to Home Assistant's error codes; unexpected ones are logged."""
        msg_id = msg.get("id")
        if isinstance(err, ServiceNotFound):
            self.send_error(msg_id, ERR_NOT_FOUND, str(err))
        elif isinstance(err, ServiceValidationError):
            self.send_error(msg_id, ERR_SERVICE_VALIDATION_ERROR, str(err))
        elif isinstance(err, ServiceError):
            self.send_error(msg_id, ERR_HOME_ASSISTANT_ERROR, str(err))
        elif isinstance(err, vol.Invalid):
            self.send_error(msg_id, ERR_INVALID_FORMAT, humanize_invalid(err))
        else:
            _LOGGER.exception("Error handling WebSocket command %s from %s", msg.get("type"), self.description)
            self.send_error(msg_id, ERR_UNKNOWN_ERROR, f"unexpected error ({type(err).__name__}); see the hub's log")

    async def run(self) -> None:
        """Receive until the client goes away; then release every subscription and task."""
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())
        try:
            async for message in self.ws:
                if self.closed:
                    break
                if message.type == WSMsgType.TEXT:
                    self.handle_text(message.data)
                elif message.type == WSMsgType.BINARY:
                    self.send_error(None, ERR_INVALID_FORMAT, "binary frames are not supported; send JSON text")
                elif message.type == WSMsgType.ERROR:
                    _LOGGER.debug("WebSocket error from %s: %s", self.description, message.data)
                    break
        finally:
            writer = self._writer
            self.closed = True
            for unsub in self.subscriptions.values():
                unsub()
            self.subscriptions.clear()
            self._queue.clear()
            for task in (writer, *self._tasks):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (writer, *self._tasks) if t is not None), return_exceptions=True)


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """`GET /api/websocket`: Home Assistant's handshake, then the command loop."""
    from .server import SERVER_APP_KEY

    server = request.app[SERVER_APP_KEY]
    ws = web.WebSocketResponse(heartbeat=55, max_msg_size=MAX_INCOMING_MESSAGE)
    await ws.prepare(request)
    cookie_auth = await authenticate(server, request) if request.cookies.get(SESSION_COOKIE) else None
    await ws.send_str(json_dumps({"type": "auth_required", "ha_version": HA_VERSION, "streamops_version": __version__}))
    auth = await _receive_auth(server, ws, cookie_auth)
    if auth is None:
        await ws.close()
        return ws
    await ws.send_str(json_dumps({"type": "auth_ok", "ha_version": HA_VERSION, "streamops_version": __version__}))
    request[AUTH_KEY] = auth
    connection = ActiveConnection(server, ws, request, auth, server.config["ws_max_pending"])
    server.ws_connections.add(connection)
    try:
        await connection.run()
    finally:
        server.ws_connections.discard(connection)
        if not ws.closed and not connection.closed:
            await ws.close()
    return ws


async def _receive_auth(server: HttpServer, ws: web.WebSocketResponse, cookie_auth: AuthInfo | None) -> AuthInfo | None:
    try:
        message = await ws.receive(timeout=AUTH_TIMEOUT)
    except TimeoutError:
        await ws.send_str(json_dumps({"type": "auth_invalid", "message": "no auth message within 10 seconds"}))
        return None
    if message.type != WSMsgType.TEXT:
        return None
    try:
        msg = json.loads(message.data)
    except ValueError:
        msg = None
    if not isinstance(msg, dict) or msg.get("type") != "auth":
        await ws.send_str(
            json_dumps({"type": "auth_invalid", "message": 'expected {"type": "auth", "access_token": ...}'})
        )
        return None
    token = msg.get("access_token")
    if token:
        row = await validate_token(server.db, token) if isinstance(token, str) else None
        if row is not None:
            return auth_info(row, "websocket")
    elif cookie_auth is not None:
        return cookie_auth
    await ws.send_str(json_dumps({"type": "auth_invalid", "message": "Invalid access token or password"}))
    return None
