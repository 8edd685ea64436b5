"""Home Assistant's REST API subset (`/api/...`), with the same paths, bodies and status codes.

Existing Home Assistant REST clients (Stream Deck plugins, scripts using `homeassistant-api`) talk
to these unchanged. Errors are JSON `{"message": ..., "code": ...}`; no malformed request reaches a
500. Authentication is done by the middleware before any of these run.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ..core import (
    EVENT_STATE_CHANGED,
    MATCH_ALL,
    Context,
    Hub,
    InvalidEntityId,
    ServiceError,
    ServiceNotFound,
    ServiceValidationError,
)
from ..core.util import iso_utc, valid_entity_id
from .helpers import JsonError, json_response, read_json
from .security import request_auth
from .websocket_commands import check_response_mode, hub_config_dict, services_dict

_LOGGER = logging.getLogger(__name__)

# A blocking call over REST answers after this long with the states changed so far (the call goes
# on), as Home Assistant does, so one slow service cannot hold an HTTP client forever.
SERVICE_WAIT_TIMEOUT = 10.0
HISTORY_DEFAULT_PERIOD = 86400.0


def _context(request: web.Request) -> Context:
    auth = request_auth(request)
    return auth.context() if auth is not None else Context()


def _hub(request: web.Request) -> Hub:
    from .server import HUB_APP_KEY

    return request.app[HUB_APP_KEY]


async def api_status(request: web.Request) -> web.Response:
    return json_response({"message": "API running."})


async def api_config(request: web.Request) -> web.Response:
    return json_response(hub_config_dict(_hub(request)))


async def api_states(request: web.Request) -> web.Response:
    return json_response([state.as_dict() for state in _hub(request).states.async_all()])


def _entity_id(request: web.Request) -> str:
    entity_id = request.match_info["entity_id"]
    if not valid_entity_id(entity_id):
        raise JsonError(
            400, f"Invalid entity ID specified: {entity_id!r} (expected domain.object_id)", "invalid_entity_id"
        )
    return entity_id


async def api_get_state(request: web.Request) -> web.Response:
    state = _hub(request).states.get(_entity_id(request))
    if state is None:
        raise JsonError(404, "Entity not found.", "not_found")
    return json_response(state.as_dict())


async def api_post_state(request: web.Request) -> web.Response:
    hub = _hub(request)
    entity_id = _entity_id(request)
    data = await read_json(request)
    if not isinstance(data, dict):
        raise JsonError(400, 'body must be a JSON object like {"state": "on", "attributes": {}}', "invalid_format")
    new_state = data.get("state")
    if new_state is None:
        raise JsonError(400, "No state specified.", "invalid_format")
    if not isinstance(new_state, str | int | float | bool):
        raise JsonError(400, "state must be a string or a number", "invalid_format")
    attributes = data.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise JsonError(400, "attributes must be a JSON object", "invalid_format")
    force_update = data.get("force_update", False)
    if not isinstance(force_update, bool):
        raise JsonError(400, "force_update must be true or false", "invalid_format")
    is_new = hub.states.get(entity_id) is None
    try:
        state = hub.states.async_set(entity_id, new_state, attributes, force_update, _context(request))
    except InvalidEntityId as err:
        raise JsonError(400, str(err), "invalid_entity_id") from err
    except ValueError as err:
        raise JsonError(400, str(err), "invalid_format") from err
    response = json_response(state.as_dict(), status=201 if is_new else 200)
    response.headers["Location"] = f"/api/states/{entity_id}"
    return response


async def api_delete_state(request: web.Request) -> web.Response:
    if _hub(request).states.async_remove(_entity_id(request), _context(request)):
        return json_response({"message": "Entity removed."})
    raise JsonError(404, "Entity not found.", "not_found")


async def api_services(request: web.Request) -> web.Response:
    return json_response(
        [{"domain": domain, "services": services} for domain, services in services_dict(_hub(request)).items()]
    )


async def api_call_service(request: web.Request) -> web.Response:
    hub = _hub(request)
    domain, service = request.match_info["domain"], request.match_info["service"]
    data = await read_json(request)
    if not isinstance(data, dict):
        raise JsonError(400, "Data should be valid JSON object.", "invalid_format")
    return_response = "return_response" in request.query
    context = _context(request)
    started = time.time()
    try:
        if not hub.services.has_service(domain, service):
            raise ServiceNotFound(domain, service)
        check_response_mode(hub, domain, service, return_response)
        task = hub.async_create_task(
            hub.services.async_call(
                domain, service, data, blocking=True, context=context, return_response=return_response
            ),
            name=f"REST call {domain}.{service}",
        )
        if return_response:
            response = await task
        else:
            done, _ = await asyncio.wait({task}, timeout=SERVICE_WAIT_TIMEOUT)
            if not done:
                task.add_done_callback(_log_late_failure)
            response = task.result() if done else None
    except ServiceNotFound as err:
        raise JsonError(400, str(err), "service_not_found") from err
    except ServiceValidationError as err:
        raise JsonError(400, str(err), "service_validation_error") from err
    except ServiceError as err:
        raise JsonError(409, str(err), "service_error") from err
    except Exception as err:
        _LOGGER.exception("Service %s.%s failed unexpectedly (called over REST)", domain, service)
        raise JsonError(
            500,
            f"service {domain}.{service} failed unexpectedly ({type(err).__name__}); see the hub's log",
            "internal_error",
        ) from err
    changed = [state.as_dict() for state in hub.states.async_all() if state.last_updated >= started]
    if return_response:
        return json_response({"changed_states": changed, "service_response": response})
    return json_response(changed)


def _log_late_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error(
            "Service call %s failed after its HTTP caller got its answer", task.get_name(), exc_info=task.exception()
        )


async def api_events(request: web.Request) -> web.Response:
    listeners = _hub(request).bus.async_listeners()
    return json_response([{"event": etype, "listener_count": count} for etype, count in listeners.items()])


async def api_fire_event(request: web.Request) -> web.Response:
    event_type = request.match_info["event_type"]
    if not event_type or len(event_type) > 64 or event_type == MATCH_ALL:
        raise JsonError(400, "event type must be 1 to 64 characters and not '*'", "invalid_format")
    if event_type == EVENT_STATE_CHANGED:
        raise JsonError(
            400,
            "state_changed is fired by the hub itself; set a state with POST /api/states/{entity_id}",
            "invalid_format",
        )
    data = await read_json(request)
    if not isinstance(data, dict):
        raise JsonError(400, "Event data should be a JSON object", "invalid_format")
    _hub(request).bus.async_fire(event_type, data, origin="REMOTE", context=_context(request))
    return json_response({"message": f"Event {event_type} fired."})


def _parse_time(value: str, what: str) -> float:
    try:
        moment = datetime.fromisoformat(value.replace(" ", "+") if "T" in value else value)
    except ValueError as err:
        raise JsonError(400, f"invalid {what} {value!r}: expected an ISO 8601 date/time", "invalid_format") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def api_history(request: web.Request) -> web.Response:
    """`/api/history/period[/{start}]?filter_entity_id=a,b[&end_time=][&minimal_response][&no_attributes]`."""
    from ..recorder import RECORDER

    hub = _hub(request)
    recorder = hub.data.get(RECORDER)
    get_history = getattr(recorder, "get_history", None)
    if get_history is None:
        raise JsonError(404, "history is not available: the recorder does not provide get_history", "not_available")
    entity_ids = [e.strip() for e in request.query.get("filter_entity_id", "").split(",") if e.strip()]
    if not entity_ids:
        raise JsonError(400, "filter_entity_id is missing (comma-separated entity ids)", "invalid_format")
    bad = [e for e in entity_ids if not valid_entity_id(e)]
    if bad:
        raise JsonError(400, f"Invalid entity ID specified: {', '.join(bad)}", "invalid_entity_id")
    now = time.time()
    start_text = request.match_info.get("start")
    start = _parse_time(start_text, "start time") if start_text else now - HISTORY_DEFAULT_PERIOD
    end = _parse_time(request.query["end_time"], "end_time") if "end_time" in request.query else now
    if end < start:
        raise JsonError(400, "end_time is before the start time", "invalid_format")
    minimal = "minimal_response" in request.query
    no_attributes = "no_attributes" in request.query
    out: list[list[dict[str, Any]]] = []
    for entity_id in entity_ids:
        result = get_history(entity_id, start, end)
        if inspect.isawaitable(result):
            result = await result
        states = [_history_item(item) for item in result or ()]
        if not states:
            continue
        if no_attributes:
            for item in states:
                item.pop("attributes", None)
        if minimal and len(states) > 2:
            states[1:-1] = [{"state": s.get("state"), "last_changed": s.get("last_changed")} for s in states[1:-1]]
        out.append(states)
    return json_response(out)


def _history_item(item: Any) -> dict[str, Any]:
    """A recorder row (float epoch times, context_id) in Home Assistant's history shape (ISO times)."""
    if hasattr(item, "as_dict"):
        return item.as_dict()
    out = {key: item[key] for key in ("entity_id", "state", "attributes") if key in item}
    for key in ("last_changed", "last_updated"):
        value = item.get(key)
        out[key] = iso_utc(value) if isinstance(value, int | float) else value
    return out


def register_rest_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/", api_status)
    router.add_get("/api/config", api_config)
    router.add_get("/api/states", api_states)
    router.add_get("/api/states/{entity_id}", api_get_state)
    router.add_post("/api/states/{entity_id}", api_post_state)
    router.add_delete("/api/states/{entity_id}", api_delete_state)
    router.add_get("/api/services", api_services)
    router.add_post("/api/services/{domain}/{service}", api_call_service)
    router.add_get("/api/events", api_events)
    router.add_post("/api/events/{event_type}", api_fire_event)
    router.add_get("/api/history/period", api_history)
    router.add_get("/api/history/period/{start}", api_history)
