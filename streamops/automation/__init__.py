"""Automations: YAML triggers → conditions → actions, as in Home Assistant.

Sources: the default pack (`automations/` at the top of the repository) and the user's
`automation:` section; each automation is an entity `automation.<id>` with the services
`automation.trigger`, `turn_on`, `turn_off`, `toggle` and `reload`. See `config` (validation,
sources), `triggers`, `entity`, `manager` (reload semantics), `http` (REST API), `cli` (simulate).

Public functions the rest of StreamOps uses:
- `validate_automations(hub_or_config_dir, raw_config) -> list[ConfigError]` (check-config);
- `async_subscribe_trigger(hub, trigger_config, action, variables)` (WebSocket subscribe_trigger;
  `async_attach_triggers(hub, configs, action, validate=True)` underneath);
- `async_simulate(hub, automation_id, file=..., trigger=...)` (API and CLI).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey, ServiceCall, ServiceError, SupportsResponse
from .config import DEFAULT_PACK_DIR, AutomationConfig, validate_automations
from .manager import AutomationManager, ReloadError, trigger_payload_for_file
from .triggers import async_attach_triggers

_LOGGER = logging.getLogger(__name__)

DOMAIN = "automation"
AUTOMATIONS: HubKey[AutomationManager] = HubKey("automation.manager")
# Where the default pack is read from; set to None before setup to run without it (tests, tools).
PACK_DIR: HubKey[Path | None] = HubKey("automation.pack_dir")


def _section(value: Any) -> Any:
    """Accept the section as written; the real validation (with FILE:LINE) is `validate_automations`.

    Nodes are returned unchanged so file/line information reaches `async_setup`.
    """
    if value is None or (isinstance(value, Mapping) and not value):
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return value
    raise vol.Invalid("expected a list of automations")


CONFIG_SCHEMA = vol.Schema(_section)

# The loader's hook for check-config: full validation with FILE:LINE (the schema above lets it through).
validate_config = validate_automations

_ENTITY_SCHEMA = vol.Schema(
    {vol.Optional("entity_id", default="all"): vol.Any(str, [str]), vol.Optional("id"): str}, extra=vol.ALLOW_EXTRA
)


async def async_setup(hub: Hub, config: Any) -> bool:
    manager = AutomationManager(hub, pack_dir=hub.data.get(PACK_DIR, DEFAULT_PACK_DIR))
    hub.data[AUTOMATIONS] = manager
    result = manager.load(config)
    for error in result.errors:
        _LOGGER.error("Automation config error: %s", error)

    # Valid automations run even when others are invalid (those are reported, and listed by
    # check-config); a reload applies only a fully valid set.
    async def start() -> None:
        await manager.async_apply(result.automations)

    if hub.state.value in ("running", "safe_mode"):
        await start()
    else:
        # Attach before `streamops_started` fires (so `trigger: streamops, event: start` works) but
        # after every component is set up (so component trigger platforms can attach).
        hub.async_on_start(start)
    hub.async_on_stop(manager.async_stop)
    _register_services(hub, manager)
    _register_http(hub, manager)
    return True


def _register_services(hub: Hub, manager: AutomationManager) -> None:
    async def trigger(call: ServiceCall) -> dict[str, Any] | None:
        entities = manager.by_entity_ids(call.data.get("entity_id", "all"))
        skip = call.data.get("skip_condition", True)
        variables = call.data.get("variables") or {}
        traces = []
        for entity in entities:
            trace = await entity.async_trigger(
                {"trigger": {"platform": None, "description": "automation.trigger service"}, **variables},
                call.context,
                skip_condition=bool(skip),
                dry_run=call.dry_run,
            )
            traces.append(trace)
        if call.dry_run or call.return_response:
            return {"runs": [{"automation_id": t.item_id, "state": t.state, "plan": t.plan()} for t in traces]}
        return None

    async def turn_on(call: ServiceCall) -> None:
        for entity in manager.by_entity_ids(call.data.get("entity_id", "all")):
            if not call.dry_run:
                await entity.async_enable()

    async def turn_off(call: ServiceCall) -> None:
        for entity in manager.by_entity_ids(call.data.get("entity_id", "all")):
            if not call.dry_run:
                await entity.async_disable(stop_actions=bool(call.data.get("stop_actions", True)))

    async def toggle(call: ServiceCall) -> None:
        for entity in manager.by_entity_ids(call.data.get("entity_id", "all")):
            if call.dry_run:
                continue
            if entity.enabled:
                await entity.async_disable()
            else:
                await entity.async_enable()

    async def reload(call: ServiceCall) -> dict[str, Any] | None:
        if call.dry_run:
            section, errors = manager._section_reader()
            errors = errors or manager.load(section).errors
            return {"dry_run": True, "valid": not errors, "errors": [str(e) for e in errors]}
        try:
            loaded = await manager.async_reload()
        except ReloadError as err:
            raise ServiceError(
                "automations not reloaded, the previous ones keep running; fix these errors:\n" + str(err)
            ) from err
        return {"count": len(loaded)} if call.return_response else None

    entity_schema = vol.Schema({vol.Optional("entity_id", default="all"): vol.Any(str, [str])}, extra=vol.PREVENT_EXTRA)
    hub.services.async_register(
        DOMAIN,
        "trigger",
        trigger,
        vol.Schema(
            {
                vol.Optional("entity_id", default="all"): vol.Any(str, [str]),
                vol.Optional("skip_condition", default=True): bool,
                vol.Optional("variables", default=dict): dict,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
        supports_dry_run=True,
        description="Run automations now (conditions skipped unless skip_condition: false)",
    )
    hub.services.async_register(
        DOMAIN,
        "turn_on",
        turn_on,
        entity_schema,
        supports_dry_run=True,
        description="Enable automations (attach their triggers)",
    )
    hub.services.async_register(
        DOMAIN,
        "turn_off",
        turn_off,
        vol.Schema(
            {
                vol.Optional("entity_id", default="all"): vol.Any(str, [str]),
                vol.Optional("stop_actions", default=True): bool,
            }
        ),
        supports_dry_run=True,
        description="Disable automations; running actions are stopped unless stop_actions: false",
    )
    hub.services.async_register(
        DOMAIN, "toggle", toggle, entity_schema, supports_dry_run=True, description="Toggle automations on/off"
    )
    hub.services.async_register(
        DOMAIN,
        "reload",
        reload,
        vol.Schema({}),
        supports_response=SupportsResponse.OPTIONAL,
        supports_dry_run=True,
        description="Re-read automations from YAML; on any error the previous ones keep running",
    )


def _register_http(hub: Hub, manager: AutomationManager) -> None:
    try:
        from ..api import HTTP  # type: ignore[attr-defined]
    except ImportError:
        return
    http = hub.data.get(HTTP)
    if http is None:
        return
    from .http import register_routes

    register_routes(http.app, hub)


async def async_subscribe_trigger(
    hub: Hub, trigger_config: Any, action: Any, variables: Mapping[str, Any] | None = None
) -> Any:
    """WebSocket `subscribe_trigger`: validate one trigger (or a list) and attach it.

    `action(trigger_variables, context)` is called per firing, with the `trigger` payload as
    Home Assistant sends it (`{"trigger": {...}}`). Raises ValueError naming the problems.
    """
    configs = trigger_config if isinstance(trigger_config, list) else [trigger_config]

    def on_fire(payload: dict[str, Any], context: Any = None) -> Any:
        from ..script.trace import jsonable

        return action({"trigger": jsonable(payload)}, context)

    return await async_attach_triggers(
        hub, configs, on_fire, name="subscribe_trigger", variables=dict(variables or {}), validate=True
    )


async def async_simulate(
    hub: Hub,
    automation_id: str,
    *,
    file: str | None = None,
    trigger: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    skip_condition: bool = False,
) -> dict[str, Any]:
    """Dry-run one automation against a sample trigger (a file path → a synthetic file_closed).

    Returns `{"automation_id", "state", "ok", "plan": [service calls with rendered data and each
    service's plan], "trace": {...}}`; raises KeyError for an unknown automation.
    """
    manager = hub.data[AUTOMATIONS]
    entity = manager.get(automation_id)
    if entity is None:
        raise KeyError(automation_id)
    if trigger is None:
        trigger = trigger_payload_for_file(file) if file else {"platform": None, "description": "simulated"}
    trace = await entity.async_trigger(
        {"trigger": dict(trigger), **(variables or {})}, skip_condition=skip_condition, dry_run=True
    )
    data = trace.as_dict()
    return {
        "automation_id": entity.id,
        "state": trace.state,
        "ok": trace.state == "finished" and not trace.missing_services,
        "missing_services": trace.missing_services,
        "plan": trace.plan(),
        "trace": data,
    }


__all__ = [
    "AUTOMATIONS",
    "CONFIG_SCHEMA",
    "DOMAIN",
    "PACK_DIR",
    "AutomationConfig",
    "AutomationManager",
    "async_attach_triggers",
    "async_setup",
    "async_simulate",
    "async_subscribe_trigger",
    "validate_automations",
]
