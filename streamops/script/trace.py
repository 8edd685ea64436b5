"""Run traces: what a run saw and did, step by step, in a shape that goes straight to JSON.

A trace is what lets a streamer answer "why did (or didn't) my rule run?": the trigger, the result
of each condition, every step's path (`action/2/then/0`), its rendered inputs, its result or
error, and timings. Traces hold only JSON-safe values (States and Events become their wire dicts),
so the recorder can store them and the API can serve them without a second conversion.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Any

MAX_DEPTH = 12
MAX_STR = 4000

# Final states of a run, as shown by the API and stored with the trace.
RUN_RUNNING = "running"
RUN_FINISHED = "finished"  # every step ran (or a `stop` without error ended it)
RUN_FAILED = "failed"  # a step raised, or `stop` with `error: true`
RUN_CONDITIONS = "conditions_not_met"  # triggered, but the conditions said no
RUN_CANCELLED = "cancelled"  # restart mode, turn_off or shutdown cancelled it
RUN_SKIPPED = "skipped"  # mode single/queued/parallel refused it (max reached)


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of `value` (States/Events via `as_dict`, paths and dates as strings)."""
    if depth > MAX_DEPTH:
        return repr(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_STR else value[:MAX_STR] + "…"
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        try:
            return jsonable(as_dict(), depth + 1)
        except Exception:  # a broken as_dict must not break a trace
            return repr(value)
    return repr(value)


@dataclass
class StepTrace:
    """One executed step (or evaluated condition)."""

    path: str
    kind: str
    started: float = field(default_factory=time.time)
    duration: float | None = None
    input: Any = None
    result: Any = None
    error: str | None = None
    variables: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "type": self.kind, "started": self.started}
        if self.duration is not None:
            out["duration"] = round(self.duration, 6)
        for key in ("input", "result", "error", "variables"):
            value = getattr(self, key)
            if value is not None:
                out[key] = jsonable(value)
        return out


@dataclass
class RunTrace:
    """The trace of one run of an automation or script."""

    item_id: str
    run_id: str = field(default_factory=lambda: os.urandom(8).hex())
    started: float = field(default_factory=time.time)
    finished: float | None = None
    state: str = RUN_RUNNING
    trigger: Any = None
    conditions: list[StepTrace] = field(default_factory=list)
    steps: list[StepTrace] = field(default_factory=list)
    error: str | None = None
    dry_run: bool = False
    stop_reason: str | None = None
    response: Any = None
    context_id: str | None = None
    missing_services: list[str] = field(default_factory=list)

    def step(self, path: str, kind: str, **kwargs: Any) -> StepTrace:
        entry = StepTrace(path, kind, **kwargs)
        self.steps.append(entry)
        return entry

    def condition(self, path: str, result: bool, error: str | None = None) -> None:
        self.conditions.append(StepTrace(path, "condition", duration=0.0, result=result, error=error))

    def finish(self, state: str, error: str | None = None) -> None:
        self.state = state
        self.finished = time.time()
        if error is not None:
            self.error = error

    def plan(self) -> list[dict[str, Any]]:
        """Service calls made (for a dry run: the plan), in order, with their rendered data and result."""
        return [
            {"path": s.path, **(s.input or {}), "result": jsonable(s.result), **({"error": s.error} if s.error else {})}
            for s in self.steps
            if s.kind == "call_service"
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "run_id": self.run_id,
            "started": self.started,
            "finished": self.finished,
            "duration": None if self.finished is None else round(self.finished - self.started, 6),
            "state": self.state,
            "dry_run": self.dry_run,
            "trigger": jsonable(self.trigger),
            "conditions": [c.as_dict() for c in self.conditions],
            "steps": [s.as_dict() for s in self.steps],
            "error": self.error,
            "stop_reason": self.stop_reason,
            "response": jsonable(self.response),
            "context_id": self.context_id,
            **({"missing_services": self.missing_services} if self.missing_services else {}),
        }
