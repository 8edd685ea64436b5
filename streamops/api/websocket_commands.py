"""The built-in WebSocket commands: Home Assistant's core set, with its message shapes."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from ..core import (
    EVENT_STATE_CHANGED,
    MATCH_ALL,
    Context,
    CoreState,
    Event,
    Hub,
    ServiceValidationError,
    State,
    SupportsResponse,
)
from .helpers import json_dumps
from .websocket_api import (
    ERR_INVALID_FORMAT,
    ERR_NOT_FOUND,
    ERR_NOT_SUPPORTED,
    ActiveConnection,
    async_register_command,
    event_fanout,
)


def hub_config_dict(hub: Hub) -> dict[str, Any]:
    """`hub.config.as_dict()` with Home Assistant's run state (clients wait for "RUNNING").

    Safe mode is Home Assistant's recovery mode: state RUNNING with `recovery_mode: true`, so a
    client waiting for RUNNING still connects and can show the errors.
    """
    state = CoreState.RUNNING if hub.state == CoreState.SAFE_MODE else hub.state
    return {
        **hub.config.as_dict(),
        "state": state.value.upper(),
        "recovery_mode": hub.config.safe_mode,
        "streamops_version": hub.config.version,
    }


def services_dict(hub: Hub) -> dict[str, dict[str, Any]]:
    return {
        domain: {name: service.as_dict() for name, service in services.items()}
        for domain, services in hub.services.async_services().items()
    }


def check_response_mode(hub: Hub, domain: str, service: str, return_response: bool) -> None:
    """Home Assistant refuses a call that ignores a response-only service's response; so do we."""
    handler = hub.services.get(domain, service)
    if handler is not None and handler.supports_response == SupportsResponse.ONLY and not return_response:
        raise ServiceValidationError(
            f"service {domain}.{service} only returns a response: call it with return_response"
        )


def handle_ping(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    connection.send_message(f'{{"id":{msg["id"]},"type":"pong"}}')


def handle_supported_features(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    connection.coalesce = bool(msg["features"].get("coalesce_messages"))
    connection.send_result(msg["id"])


def handle_get_states(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    connection.send_result(msg["id"], [state.as_dict() for state in hub.states.async_all()])


def handle_get_config(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    connection.send_result(msg["id"], hub_config_dict(hub))


def handle_get_services(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    connection.send_result(msg["id"], services_dict(hub))


def handle_current_user(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    auth = connection.auth
    connection.send_result(
        msg["id"],
        {
            "id": f"token:{auth.token_id}",
            "name": auth.name,
            "is_owner": auth.is_owner,
            "is_admin": True,
            "credentials": [],
            "mfa_modules": [],
        },
    )


def handle_subscribe_events(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    msg_id = msg["id"]
    event_type = msg.get("event_type") or MATCH_ALL
    connection.subscriptions[msg_id] = event_fanout(hub).add(event_type, connection, msg_id)
    connection.send_result(msg_id)


def handle_unsubscribe_events(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    unsub = connection.subscriptions.pop(msg["subscription"], None)
    if unsub is None:
        connection.send_error(msg["id"], ERR_NOT_FOUND, "Subscription not found.")
        return
    unsub()
    connection.send_result(msg["id"])


async def handle_call_service(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    domain, service = msg["domain"], msg["service"]
    return_response = msg.get("return_response", False)
    check_response_mode(hub, domain, service, return_response)
    data = {**(msg.get("service_data") or {}), **(msg.get("target") or {})}
    context = connection.context(msg)
    response = await hub.services.async_call(
        domain, service, data, blocking=True, context=context, return_response=return_response
    )
    connection.send_result(msg["id"], {"context": context.as_dict(), "response": response})


def handle_fire_event(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    if msg["event_type"] == EVENT_STATE_CHANGED:
        connection.send_error(
            msg["id"], ERR_INVALID_FORMAT, "state_changed is fired by the hub itself; set a state with POST /api/states"
        )
        return
    context = connection.context(msg)
    hub.bus.async_fire(msg["event_type"], msg.get("event_data") or {}, origin="REMOTE", context=context)
    connection.send_result(msg["id"], {"context": context.as_dict()})


async def handle_subscribe_trigger(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Attach an automation trigger and stream its firings; needs the automation engine.

    The engine provides `streamops.automation.async_subscribe_trigger(hub, trigger_config,
    action, variables) -> unsubscribe` (action(trigger_vars: dict, context) is called per firing),
    or registers its own `subscribe_trigger` command, which replaces this one.
    """
    try:
        module = importlib.import_module("streamops.automation")
    except ImportError:
        module = None
    subscribe = getattr(module, "async_subscribe_trigger", None) if module is not None else None
    if subscribe is None:
        connection.send_error(
            msg["id"], ERR_NOT_SUPPORTED, "subscribe_trigger is not available: the automation engine is not installed"
        )
        return
    msg_id = msg["id"]

    def on_trigger(variables: Mapping[str, Any], context: Context | None = None) -> None:
        connection.send_event(msg_id, {"variables": dict(variables), "context": context.as_dict() if context else None})

    try:
        unsub = await subscribe(hub, msg["trigger"], on_trigger, msg.get("variables") or {})
    except (ValueError, vol.Invalid) as err:
        connection.send_error(msg_id, ERR_INVALID_FORMAT, f"invalid trigger: {err}")
        return
    if connection.closed:
        unsub()
        return
    connection.subscriptions[msg_id] = unsub
    connection.send_result(msg_id)


# -- subscribe_entities: Home Assistant's compressed state stream --------------------------------
def _compressed_context(state: State) -> str | dict[str, Any]:
    context = state.context
    if context is None:
        return ""
    if context.parent_id is None and context.user_id is None:
        return context.id
    return context.as_dict()


def compressed_state(state: State) -> dict[str, Any]:
    data: dict[str, Any] = {
        "s": state.state,
        "a": dict(state.attributes),
        "c": _compressed_context(state),
        "lc": state.last_changed,
    }
    if state.last_updated != state.last_changed:
        data["lu"] = state.last_updated
    return data


def compressed_diff(old: State, new: State) -> dict[str, Any]:
    additions: dict[str, Any] = {}
    if old.state != new.state:
        additions["s"] = new.state
    if old.last_changed != new.last_changed:
        additions["lc"] = new.last_changed
    elif old.last_updated != new.last_updated:
        additions["lu"] = new.last_updated
    if old.context is not new.context:
        additions["c"] = _compressed_context(new)
    missing = object()
    changed_attrs = {key: value for key, value in new.attributes.items() if old.attributes.get(key, missing) != value}
    if changed_attrs:
        additions["a"] = changed_attrs
    diff: dict[str, Any] = {"+": additions}
    removed = [key for key in old.attributes if key not in new.attributes]
    if removed:
        diff["-"] = {"a": removed}
    return diff


def handle_subscribe_entities(hub: Hub, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    msg_id = msg["id"]
    wanted = set(msg["entity_ids"]) if msg.get("entity_ids") else None

    def forward(event: Event) -> None:
        entity_id = event.data["entity_id"]
        old, new = event.data.get("old_state"), event.data.get("new_state")
        if new is None:
            payload: dict[str, Any] = {"r": [entity_id]}
        elif old is None:
            payload = {"a": {entity_id: compressed_state(new)}}
        else:
            payload = {"c": {entity_id: compressed_diff(old, new)}}
        connection.send_message(f'{{"id":{msg_id},"type":"event","event":{json_dumps(payload)}}}')

    event_filter = (lambda event: event.data.get("entity_id") in wanted) if wanted is not None else None
    connection.subscriptions[msg_id] = hub.bus.async_listen(EVENT_STATE_CHANGED, forward, event_filter)
    connection.send_result(msg_id)
    states = hub.states.async_all()
    connection.send_event(
        msg_id,
        {"a": {s.entity_id: compressed_state(s) for s in states if wanted is None or s.entity_id in wanted}},
    )


def register_builtin_commands(hub: Hub) -> None:
    register = async_register_command
    register(hub, "ping", handle_ping, {})
    register(hub, "supported_features", handle_supported_features, {vol.Required("features"): {str: int}})
    register(hub, "get_states", handle_get_states, {})
    register(hub, "get_config", handle_get_config, {})
    register(hub, "get_services", handle_get_services, {})
    register(hub, "auth/current_user", handle_current_user, {})
    register(hub, "subscribe_events", handle_subscribe_events, {vol.Optional("event_type"): str})
    register(hub, "unsubscribe_events", handle_unsubscribe_events, {vol.Required("subscription"): int})
    register(
        hub,
        "call_service",
        handle_call_service,
        {
            vol.Required("domain"): str,
            vol.Required("service"): str,
            vol.Optional("service_data"): vol.Any(dict, None),
            vol.Optional("target"): vol.Any(dict, None),
            vol.Optional("return_response", default=False): bool,
        },
    )
    register(
        hub,
        "fire_event",
        handle_fire_event,
        {vol.Required("event_type"): vol.All(str, vol.Length(min=1, max=64)), vol.Optional("event_data"): dict},
    )
    register(
        hub,
        "subscribe_trigger",
        handle_subscribe_trigger,
        {vol.Required("trigger"): vol.Any(dict, list), vol.Optional("variables"): dict},
    )
    register(
        hub,
        "subscribe_entities",
        handle_subscribe_entities,
        {vol.Optional("entity_ids"): [str]},
    )
