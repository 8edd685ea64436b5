"""One automation at run time: the `automation.<id>` entity, its triggers, conditions and script."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ..core import STATE_OFF, STATE_ON, Context, Hub
from ..core.util import iso_utc
from ..script.conditions import compile_condition
from ..script.engine import Script
from ..script.templating import TemplateCache
from ..script.trace import RUN_CONDITIONS, RUN_FAILED, RunTrace
from ..templates import TemplateError
from .config import AutomationConfig
from .traces import TraceStore
from .triggers import async_attach_triggers

_LOGGER = logging.getLogger(__name__)

EVENT_AUTOMATION_TRIGGERED = "automation_triggered"
EVENT_AUTOMATION_RELOADED = "automation_reloaded"


class AutomationEntity:
    """Owns the attached triggers and the Script; writes `automation.<id>` (on/off + attributes)."""

    def __init__(self, hub: Hub, config: AutomationConfig, traces: TraceStore) -> None:
        self.hub = hub
        self.config = config
        self.traces = traces
        self.id = config.id
        self.entity_id = config.entity_id
        self.cache = TemplateCache(hub)
        self.logger = logging.getLogger(f"{__name__}.{config.id}")
        self.script = Script(
            hub,
            config.actions,
            f"automation {config.alias}",
            mode=config.mode,
            max_runs=config.max,
            max_exceeded=config.max_exceeded,
            cache=self.cache,
            logger=self.logger,
            on_change=self.write_state,
        )
        self.conditions = [compile_condition(hub, c, self.cache) for c in config.conditions]
        self.enabled = False
        self.last_triggered: float | None = None
        self.retired = False  # replaced by a reload: runs finish, state is no longer written
        self._unsub: Any = None

    # -- state -----------------------------------------------------------------------------------
    def attributes(self) -> dict[str, Any]:
        return {
            "friendly_name": self.config.alias,
            "id": self.id,
            "last_triggered": iso_utc(self.last_triggered) if self.last_triggered else None,
            "mode": self.config.mode,
            "current": self.script.runs,
            **({"max": self.config.max} if self.config.mode in ("queued", "parallel") else {}),
            "source": f"{self.config.file}:{self.config.line}" if self.config.file else None,
        }

    def write_state(self) -> None:
        if self.retired:
            return
        self.hub.states.async_set(self.entity_id, STATE_ON if self.enabled else STATE_OFF, self.attributes())

    # -- on / off --------------------------------------------------------------------------------
    async def async_enable(self) -> None:
        if self.enabled:
            return
        trigger_vars = self.cache.render(self.config.trigger_variables, {}) if self.config.trigger_variables else {}
        self._unsub = await async_attach_triggers(
            self.hub,
            self.config.triggers,
            self._on_trigger,
            name=f"automation {self.config.alias}",
            automation_id=self.id,
            variables=trigger_vars,
        )
        self.enabled = True
        self.write_state()

    async def async_disable(self, stop_actions: bool = True) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.enabled = False
        if stop_actions:
            await self.script.async_stop()
        self.write_state()

    def detach(self) -> None:
        """Stop listening without touching the runs or the state (a reload replaced this one)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    # -- running ---------------------------------------------------------------------------------
    def _on_trigger(self, payload: dict[str, Any], context: Context | None = None) -> None:
        self.hub.async_create_task(self.async_trigger({"trigger": payload}, context), name=f"automation {self.id}")

    def _this(self) -> dict[str, Any]:
        state = self.hub.states.get(self.entity_id)
        return state.as_dict() if state is not None else {"entity_id": self.entity_id}

    async def async_trigger(
        self,
        run_variables: Mapping[str, Any] | None = None,
        context: Context | None = None,
        *,
        skip_condition: bool = False,
        dry_run: bool = False,
    ) -> RunTrace:
        """Check conditions and run; returns the finished trace (also stored in the trace store)."""
        run_variables = dict(run_variables or {})
        trigger = run_variables.get("trigger") or {"platform": None, "description": "manual"}
        trace = RunTrace(self.id, trigger=trigger)
        trace.dry_run = dry_run
        context = Context(parent_id=context.id if context else None)
        variables: dict[str, Any] = {"this": self._this(), "trigger": trigger}
        if isinstance(trigger, Mapping) and isinstance(trigger.get("variables"), Mapping):
            variables.update(trigger["variables"])
        try:
            if self.config.trigger_variables:
                variables.update(self.cache.render(self.config.trigger_variables, {}))
            for key, value in self.config.variables.items():
                variables[key] = self.cache.render(value, variables)
        except TemplateError as err:
            trace.finish(RUN_FAILED, f"variables: {err}")
            self.logger.error("%s: %s", self.config.alias, trace.error)
            self.traces.add(self.id, trace, self.config.stored_traces)
            return trace
        for key, value in run_variables.items():
            if key != "trigger":
                variables[key] = value
        if not skip_condition:
            for index, check in enumerate(self.conditions):
                notes: list[str] = []
                try:
                    ok = check(variables, notes)
                except TemplateError as err:
                    ok, notes = False, [str(err)]
                trace.condition(f"condition/{index}", ok, "; ".join(notes) or None)
                if not ok:
                    trace.stop_reason = f"condition/{index} did not hold: {'; '.join(notes) or 'false'}"
                    trace.finish(RUN_CONDITIONS)
                    self.traces.add(self.id, trace, self.config.stored_traces)
                    return trace
        if not dry_run:
            self.last_triggered = time.time()
            source = trigger.get("description") if isinstance(trigger, Mapping) else None
            self.hub.bus.async_fire(
                EVENT_AUTOMATION_TRIGGERED,
                {"name": self.config.alias, "entity_id": self.entity_id, "source": source},
                context=context,
            )
        script = self.script
        if dry_run:  # a simulation never competes with (or is refused by) real runs
            script = Script(self.hub, self.config.actions, self.script.name, mode="parallel", cache=self.cache)
        try:
            await script.async_run(variables, trace, context, dry_run=dry_run)
        finally:
            self.traces.add(self.id, trace, self.config.stored_traces)
        return trace
