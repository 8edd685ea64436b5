"""The script engine: runs a validated action sequence, with modes, traces and dry runs.

One `Script` per automation (or script). `async_run` applies the mode first:

- `single`: a run while one is going is refused (trace state `skipped`);
- `restart`: the running one is cancelled, then the new one starts;
- `queued`: runs wait their turn, at most `max` running + waiting;
- `parallel`: runs overlap, at most `max` at once.

Variables are one flat mapping per run (as in Home Assistant since 2025.4, a `variables` step
updates the run's variables for the steps after it, also from inside `choose`/`if`/`sequence`);
`repeat` and `wait` are set while they apply, and `parallel` branches work on copies.

Service responses flow forward: every service call stores its response (or, in a dry run, its plan)
in the variable `previous`, and in `response_variable` when one is named. A media step returns
`{"output": "/path/of/result"}`, so the next step can use `{{ previous.output }}`.

A dry run (`simulate`) calls every service with `dry_run=True`: services return their plan (the
exact command line, the rendered destination) and touch nothing; events are recorded, not fired;
delays and waits are recorded, not waited for.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..core import Context, Hub, ServiceError, ServiceNotFound, SupportsResponse
from ..templates import PATH_PLACEHOLDERS, TemplateError, async_path_variables, render_path
from .conditions import Checker, compile_conditions
from .templating import TemplateCache, render_period, result_is_true
from .trace import (
    RUN_CANCELLED,
    RUN_FAILED,
    RUN_FINISHED,
    RUN_SKIPPED,
    RunTrace,
    StepTrace,
)

_LOGGER = logging.getLogger(__name__)

MODES = ("single", "restart", "queued", "parallel")
DEFAULT_MAX = 10
MAX_EXCEEDED_LEVELS = {
    "silent": None,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class ScriptError(Exception):
    """A step failed; the message names the step path and the cause."""


class _Stop(Exception):
    """Raised by a `stop` step, a failed condition step or a wait that timed out."""

    def __init__(self, reason: str, *, error: bool = False, response: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.response = response


class Script:
    """A runnable sequence of validated steps (see streamops.script.schema)."""

    def __init__(
        self,
        hub: Hub,
        sequence: list[dict[str, Any]],
        name: str,
        *,
        mode: str = "single",
        max_runs: int = DEFAULT_MAX,
        max_exceeded: str = "warning",
        cache: TemplateCache | None = None,
        logger: logging.Logger | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.hub = hub
        self.sequence = sequence
        self.name = name
        self.mode = mode
        self.max_runs = 1 if mode == "single" else max_runs
        self.max_exceeded = max_exceeded
        self.cache = cache or TemplateCache(hub)
        self.logger = logger or _LOGGER
        self._runs: list[_Run] = []
        self._queue_lock = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._conditions: dict[int, Checker] = {}
        self.last_action: str | None = None
        self.on_change = on_change  # called when the number of runs changes (entity attributes)

    # -- state -----------------------------------------------------------------------------------
    @property
    def runs(self) -> int:
        """Runs going or waiting their turn (queued mode)."""
        return len(self._runs)

    @property
    def is_running(self) -> bool:
        return bool(self._runs)

    def conditions(self, configs: list[dict[str, Any]]) -> Checker:
        """Compiled checker for a conditions list of this script (compiled once, kept by identity)."""
        checker = self._conditions.get(id(configs))
        if checker is None:
            checker = self._conditions[id(configs)] = compile_conditions(self.hub, configs, self.cache)
        return checker

    # -- running ---------------------------------------------------------------------------------
    def refuses(self) -> bool:
        """True when the mode would refuse a new run right now."""
        if self.mode == "restart":
            return False
        return len(self._runs) >= self.max_runs

    async def async_run(
        self,
        variables: Mapping[str, Any],
        trace: RunTrace,
        context: Context | None = None,
        *,
        dry_run: bool = False,
    ) -> Any:
        """Run under the script's mode; returns the `stop` response (if any). Never raises for step
        errors: they end up in `trace` (state `failed`)."""
        if self.refuses():
            level = MAX_EXCEEDED_LEVELS.get(self.max_exceeded, logging.WARNING)
            message = (
                f"already running (mode {self.mode})"
                if self.mode == "single"
                else f"maximum number of runs exceeded ({self.max_runs}, mode {self.mode})"
            )
            if level is not None:
                self.logger.log(level, "%s: %s", self.name, message)
            trace.stop_reason = message
            trace.finish(RUN_SKIPPED)
            return None
        if self.mode == "restart" and self._runs:
            await self.async_stop()
        run = _Run(self, dict(variables), trace, context or Context(), dry_run)
        self._runs.append(run)
        self._changed()
        try:
            if self.mode == "queued":
                async with self._queue_lock:
                    return await run.execute()
            return await run.execute()
        finally:
            if run in self._runs:
                self._runs.remove(run)
            self._changed()

    async def async_wait_idle(self) -> None:
        """Return once no run is going (used to retire a definition replaced by a reload)."""
        await self._idle.wait()

    def _changed(self) -> None:
        if self._runs:
            self._idle.clear()
        else:
            self._idle.set()
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                self.logger.exception("%s: run-change callback failed", self.name)

    async def async_stop(self) -> None:
        """Cancel every run (restart mode, turn_off, shutdown) and wait until they are gone."""
        current = asyncio.current_task()
        tasks = [run.task for run in self._runs if run.task not in (None, current) and not run.task.done()]
        for run in list(self._runs):
            run.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


class _Run:
    """One execution of a script."""

    def __init__(
        self, script: Script, variables: dict[str, Any], trace: RunTrace, context: Context, dry_run: bool
    ) -> None:
        self.script = script
        self.hub = script.hub
        self.cache = script.cache
        self.variables = variables
        self.trace = trace
        self.context = context
        self.dry_run = dry_run
        self.task: asyncio.Task[Any] | None = None
        self._cancelled = False
        self.dry_run_errors: list[str] = []
        trace.dry_run = dry_run
        trace.context_id = context.id

    def cancel(self) -> None:
        self._cancelled = True
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def execute(self) -> Any:
        if self._cancelled:
            self.trace.finish(RUN_CANCELLED)
            return None
        self.task = asyncio.current_task()
        try:
            await self._sequence(self.script.sequence, "action", self.variables)
        except _Stop as stop:
            self.trace.stop_reason = stop.reason
            self.trace.response = stop.response
            self.trace.finish(RUN_FAILED if stop.error else RUN_FINISHED, stop.reason if stop.error else None)
            return stop.response
        except asyncio.CancelledError:
            self.trace.finish(RUN_CANCELLED)
            if not self._cancelled:
                raise  # cancelled from outside (shutdown): let it propagate
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return None
        except ScriptError as err:
            self.trace.finish(RUN_FAILED, str(err))
            self.script.logger.error("%s: %s", self.script.name, err)
            return None
        except Exception as err:  # a bug in a step must fail the run, not the caller
            self.script.logger.exception("%s: unexpected error", self.script.name)
            self.trace.finish(RUN_FAILED, f"unexpected error: {err!r}")
            return None
        if self.dry_run_errors:
            self.trace.finish(RUN_FAILED, "; ".join(self.dry_run_errors))
            return None
        self.trace.finish(RUN_FINISHED)
        return None

    # -- sequencing ------------------------------------------------------------------------------
    async def _sequence(self, steps: list[dict[str, Any]], path: str, variables: dict[str, Any]) -> None:
        for index, step in enumerate(steps):
            await self._step(step, f"{path}/{index}", variables)

    async def _step(self, step: dict[str, Any], path: str, variables: dict[str, Any]) -> None:
        enabled = step.get("enabled", True)
        if enabled is not True:
            if enabled is False or not result_is_true(self.cache.render(enabled, variables)):
                self.trace.step(path, step["type"], result={"enabled": False}, duration=0.0)
                return
        entry = self.trace.step(path, step["type"])
        if step.get("alias"):
            entry.input = {"alias": step["alias"]}
        started = time.perf_counter()
        self.script.last_action = step.get("alias") or step["type"]
        try:
            await _HANDLERS[step["type"]](self, step, path, variables, entry)
        except (_Stop, asyncio.CancelledError, ScriptError):
            raise
        except (ServiceError, TemplateError, ValueError, TypeError, KeyError, OSError) as err:
            entry.error = str(err) or repr(err)
            label = step.get("alias") or step.get("action") or step["type"]
            if step.get("continue_on_error"):
                entry.result = {"continued_on_error": True}
                return
            if self.dry_run:
                # A simulation shows the whole plan: the error is recorded, the run goes on, and the
                # run ends as failed with every error listed.
                self.dry_run_errors.append(f"{path} ({label}): {entry.error}")
                variables["previous"] = None
                return
            raise ScriptError(f"{path} ({label}): {entry.error}") from err
        finally:
            entry.duration = time.perf_counter() - started

    def _render(self, value: Any, variables: Mapping[str, Any]) -> Any:
        return self.cache.render(value, variables)

    # -- step handlers ---------------------------------------------------------------------------
    async def _call_service(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        action = str(self._render(step["action"], variables)).strip().lower()
        domain, _, service = action.partition(".")
        data = self._render(step.get("data") or {}, variables)
        target = self._render(step.get("target") or {}, variables)
        if not isinstance(data, Mapping) or not isinstance(target, Mapping):
            raise TemplateError(f"'data' and 'target' must render to mappings (got {data!r}, {target!r})")
        payload = {**target, **data}
        if _has_placeholders(payload):
            payload = await self._fill_placeholders(payload, variables)
        entry.input = {"action": action, "data": payload}
        registered = self.hub.services.get(domain, service)
        wants_response = registered is not None and registered.supports_response != SupportsResponse.NONE
        response_variable = step.get("response_variable")
        if response_variable and registered is not None and not wants_response and not self.dry_run:
            raise ServiceError(f"service {action} does not return a response (response_variable: {response_variable})")
        try:
            result = await self.hub.services.async_call(
                domain,
                service,
                payload,
                blocking=True,
                context=Context(parent_id=self.context.id),
                return_response=wants_response,
                dry_run=self.dry_run,
            )
        except ServiceNotFound as err:
            if not self.dry_run:
                raise
            # Simulation goes on so the whole plan is visible; the missing service is the error.
            result = {"dry_run": True, "would_call": action, "data": payload}
            self.trace.missing_services.append(action)
            entry.result = result
            entry.error = str(err)
            variables["previous"] = result
            if response_variable:
                variables[response_variable] = result
            return
        entry.result = result
        variables["previous"] = result
        if response_variable:
            variables[response_variable] = result

    async def _fill_placeholders(self, payload: dict[str, Any], variables: Mapping[str, Any]) -> dict[str, Any]:
        """`{Game}/{YYYY}/...` in destination-like keys, filled from the file the call works on."""
        source = payload.get("path") or payload.get("input") or payload.get("source")
        if not source:
            trigger = variables.get("trigger")
            source = trigger.get("path") if isinstance(trigger, Mapping) else None
        path_vars = await async_path_variables(self.hub, str(source)) if source else {}
        out = dict(payload)
        for key in PLACEHOLDER_KEYS:
            value = out.get(key)
            if isinstance(value, str) and _PLACEHOLDER_RE.search(value):
                if not source:
                    raise TemplateError(f"'{key}' uses path placeholders but the call names no file (path/input)")
                out[key] = render_path(value, {**path_vars, **_placeholder_overrides(variables)})
        return out

    async def _delay(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        seconds = render_period(self.cache, step["delay"], variables)
        entry.input = {"delay": seconds}
        if self.dry_run:
            entry.result = {"dry_run": True, "would_wait": seconds}
            return
        await asyncio.sleep(seconds)

    async def _wait_template(
        self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace
    ) -> None:
        text = step["wait_template"]
        timeout = render_period(self.cache, step["timeout"], variables) if "timeout" in step else None
        entry.input = {"wait_template": text, "timeout": timeout}
        started = time.monotonic()
        if self.cache.truthy(text, variables):
            variables["wait"] = {"completed": True, "remaining": timeout, "trigger": None}
            entry.result = variables["wait"]
            return
        if self.dry_run:
            variables["wait"] = {"completed": False, "remaining": timeout, "trigger": None}
            entry.result = {"dry_run": True, "would_wait_for": text, "timeout": timeout}
            return
        done = asyncio.Event()
        from ..core import EVENT_STATE_CHANGED

        def recheck(_event: Any) -> None:
            try:
                if self.cache.truthy(text, variables):
                    done.set()
            except TemplateError:
                pass

        unsub = self.hub.bus.async_listen(EVENT_STATE_CHANGED, recheck)
        try:
            completed = await _wait_event(done, timeout)
        finally:
            unsub()
        remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        variables["wait"] = {"completed": completed, "remaining": remaining, "trigger": None}
        entry.result = variables["wait"]
        if not completed and not step.get("continue_on_timeout", True):
            raise _Stop(f"{path}: wait_template timed out after {timeout} s")

    async def _wait_for_trigger(
        self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace
    ) -> None:
        from ..automation.triggers import async_attach_triggers

        timeout = render_period(self.cache, step["timeout"], variables) if "timeout" in step else None
        entry.input = {"triggers": step["wait_for_trigger"], "timeout": timeout}
        if self.dry_run:
            variables["wait"] = {"completed": False, "remaining": timeout, "trigger": None}
            entry.result = {"dry_run": True, "would_wait_for_trigger": True, "timeout": timeout}
            return
        started = time.monotonic()
        fired: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def on_trigger(payload: dict[str, Any], context: Context | None = None) -> None:
            if not fired.done():
                fired.set_result(payload)

        unsub = await async_attach_triggers(
            self.hub, step["wait_for_trigger"], on_trigger, name=f"{self.script.name} {path}", variables=variables
        )
        try:
            payload = await asyncio.wait_for(asyncio.shield(fired), timeout)
        except TimeoutError:
            payload = None
        finally:
            unsub()
        remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        variables["wait"] = {"completed": payload is not None, "remaining": remaining, "trigger": payload}
        entry.result = variables["wait"]
        if payload is None and not step.get("continue_on_timeout", True):
            raise _Stop(f"{path}: wait_for_trigger timed out after {timeout} s")

    async def _event(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        event_type = str(self._render(step["event"], variables))
        data = self._render(step.get("event_data") or {}, variables)
        entry.input = {"event": event_type, "event_data": data}
        if self.dry_run:
            entry.result = {"dry_run": True, "would_fire": event_type}
            return
        self.hub.bus.async_fire(event_type, data, context=Context(parent_id=self.context.id))

    def _check(self, configs: list[dict[str, Any]], variables: Mapping[str, Any]) -> tuple[bool, list[str]]:
        notes: list[str] = []
        return self.script.conditions(configs)(variables, notes), notes

    async def _choose(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        for index, option in enumerate(step["choose"]):
            ok, _notes = self._check(option["conditions"], variables)
            if ok:
                entry.result = {"choice": index}
                await self._sequence(option["sequence"], f"{path}/choose/{index}/sequence", variables)
                return
        entry.result = {"choice": "default"}
        await self._sequence(step.get("default") or [], f"{path}/default", variables)

    async def _if(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        ok, notes = self._check(step["if"], variables)
        entry.result = {"if": ok, **({"why": notes} if notes else {})}
        if ok:
            await self._sequence(step["then"], f"{path}/then", variables)
        else:
            await self._sequence(step.get("else") or [], f"{path}/else", variables)

    async def _repeat(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        kind = step["kind"]
        sequence = step["sequence"]
        saved = variables.get("repeat")
        iterations = 0

        async def iteration(index: int, total: int | None, item: Any = None) -> None:
            info: dict[str, Any] = {"first": index == 1, "index": index}
            if total is not None:
                info["last"] = index == total
            if kind == "for_each":
                info["item"] = item
            variables["repeat"] = info
            await self._sequence(sequence, f"{path}/repeat/sequence", variables)
            await asyncio.sleep(0)  # a loop of instant steps must not starve the event loop

        try:
            if kind == "count":
                total = int(self._render(step["count"], variables))
                for index in range(1, total + 1):
                    await iteration(index, total)
                    iterations = index
            elif kind == "for_each":
                items = self._render(step["for_each"], variables)
                if isinstance(items, str | Mapping) or not hasattr(items, "__iter__"):
                    raise TemplateError(f"repeat for_each needs a list, got {items!r}")
                items = list(items)
                for index, item in enumerate(items, start=1):
                    await iteration(index, len(items), item)
                    iterations = index
            elif kind == "while":
                index = 0
                while True:
                    variables["repeat"] = {"first": index == 0, "index": index + 1}
                    ok, _notes = self._check(step["while"], variables)
                    if not ok:
                        break
                    index += 1
                    await iteration(index, None)
                    iterations = index
            else:  # until
                index = 0
                while True:
                    index += 1
                    await iteration(index, None)
                    iterations = index
                    ok, _notes = self._check(step["until"], variables)
                    if ok:
                        break
        finally:
            if saved is None:
                variables.pop("repeat", None)
            else:
                variables["repeat"] = saved
        entry.result = {"iterations": iterations}

    async def _parallel(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for index, branch in enumerate(step["parallel"]):
                    group.create_task(self._sequence(branch, f"{path}/parallel/{index}", dict(variables)))
        except BaseExceptionGroup as group_error:
            # Re-raise the first meaningful failure (a stop or a step error) as if sequential.
            for exc in group_error.exceptions:
                if isinstance(exc, _Stop | ScriptError):
                    raise exc from None
            raise group_error.exceptions[0] from None
        entry.result = {"branches": len(step["parallel"])}

    async def _sequence_step(
        self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace
    ) -> None:
        await self._sequence(step["sequence"], f"{path}/sequence", variables)

    async def _variables(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        values = {}
        for key, value in step["variables"].items():
            # Each variable may use the ones defined before it in the same step.
            values[key] = variables[key] = self._render(value, variables)
        entry.variables = values

    async def _stop(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        reason = str(self._render(step.get("stop") or "stopped", variables))
        response = variables.get(step["response_variable"]) if step.get("response_variable") else None
        entry.result = {"stop": reason, "error": step.get("error", False)}
        raise _Stop(reason, error=bool(step.get("error")), response=response)

    async def _condition(self, step: dict[str, Any], path: str, variables: dict[str, Any], entry: StepTrace) -> None:
        ok, notes = self._check([step["condition"]], variables)
        entry.result = {"result": ok, **({"why": notes} if notes else {})}
        if not ok:
            raise _Stop(f"condition at {path} did not hold: {'; '.join(notes) or 'false'}")


# Keys of service data whose `{Game}/{YYYY}/...` placeholders the engine fills (path variables of the
# file named by `path`/`input`, else of `trigger.path`); templates are rendered first.
PLACEHOLDER_KEYS = ("dest", "destination", "output", "output_dir", "folder", "target_dir")
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PATH_PLACEHOLDERS) + r")\}")


def _has_placeholders(payload: Mapping[str, Any]) -> bool:
    return any(isinstance(payload.get(k), str) and "{" in payload[k] for k in PLACEHOLDER_KEYS)


def _placeholder_overrides(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Run variables named like placeholders (`Game: "{{ ... }}"`) win over the providers' values."""
    return {k: variables[k] for k in PATH_PLACEHOLDERS if k in variables}


async def _wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True


_HANDLERS = {
    "call_service": _Run._call_service,
    "delay": _Run._delay,
    "wait_template": _Run._wait_template,
    "wait_for_trigger": _Run._wait_for_trigger,
    "event": _Run._event,
    "choose": _Run._choose,
    "if": _Run._if,
    "repeat": _Run._repeat,
    "parallel": _Run._parallel,
    "sequence": _Run._sequence_step,
    "variables": _Run._variables,
    "stop": _Run._stop,
    "condition": _Run._condition,
}
