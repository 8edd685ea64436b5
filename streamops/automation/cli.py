"""`streamops simulate ID --file PATH`: what an automation would do with a file, without doing it.

The configuration directory is loaded offline: the hub is built and its components set up (so
media/files/assets services exist and can answer with their exact plans), but nothing is started —
no HTTP port, no OBS connection, no watchers. The automation then runs as a dry run against a
synthetic `file_closed` trigger for PATH; every service call reports its plan (the exact ffmpeg
command line, the rendered destination) instead of running. Exit 0 when the plan is complete, 1 when
a service is missing, a step would fail or the conditions say no, 2 for an unknown automation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate", help="dry-run an automation against a file: prints the plan (commands, destinations)"
    )
    parser.add_argument("automation_id", metavar="ID", help="automation id (or automation.<id>)")
    parser.add_argument("--file", required=True, help="the file the synthetic file_closed trigger reports")
    parser.add_argument("-c", "--config", type=Path, required=True, help="configuration directory")
    parser.add_argument("--data", type=Path, help="data directory (default: a temporary one)")
    parser.add_argument("--skip-condition", action="store_true", help="ignore the automation's conditions")
    parser.add_argument("--json", action="store_true", help="print the full result (plan and trace) as JSON")
    parser.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    return asyncio.run(_simulate(args))


async def _simulate(args: argparse.Namespace) -> int:
    import tempfile

    from ..bootstrap import async_setup_hub
    from . import AUTOMATIONS, async_simulate

    config_dir = args.config.resolve()
    with tempfile.TemporaryDirectory(prefix="streamops-simulate-") as tmp:
        data_dir = (args.data or Path(tmp)).resolve()
        hub = await async_setup_hub(config_dir, data_dir, os.environ, start=False)
        try:
            for error in hub.config.errors:
                print(f"config error: {error}", file=sys.stderr)
            if hub.data.get(AUTOMATIONS) is None:
                print("the automation engine is not set up (see the config errors above)", file=sys.stderr)
                return 1
            manager = hub.data[AUTOMATIONS]
            await manager.async_apply([])  # nothing attached: triggers stay off in a simulation
            result = manager.load(hub.config.raw.get("automation"))
            for error in result.errors:
                print(f"config error: {error}", file=sys.stderr)
            from .entity import AutomationEntity

            wanted = args.automation_id.removeprefix("automation.")
            config = next((c for c in result.automations if c.id == wanted or c.entity_id == args.automation_id), None)
            if config is None:
                known = ", ".join(sorted(c.id for c in result.automations)) or "none"
                print(f"no automation '{args.automation_id}' (known: {known})", file=sys.stderr)
                return 2
            manager.entities[config.id] = AutomationEntity(hub, config, manager.traces)
            outcome = await async_simulate(hub, config.id, file=args.file, skip_condition=args.skip_condition)
        finally:
            await hub.async_stop()
    if args.json:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        print(_format(outcome))
    return 0 if outcome["ok"] else 1


def _format(outcome: dict[str, Any]) -> str:
    trace = outcome["trace"]
    lines = [f"automation {outcome['automation_id']}: {outcome['state']}"]
    for condition in trace["conditions"]:
        mark = "ok " if condition["result"] else "NO "
        lines.append(f"  {mark} {condition['path']}" + (f": {condition['error']}" if condition.get("error") else ""))
    for number, step in enumerate(outcome["plan"], start=1):
        lines.append(f"  {number}. {step['action']}  ({step['path']})")
        for key, value in (step.get("data") or {}).items():
            lines.append(f"       {key}: {value}")
        result = step.get("result") or {}
        if isinstance(result, dict):
            if result.get("command"):
                lines.append("       command: " + " ".join(_quote(str(a)) for a in result["command"]))
            if result.get("output"):
                lines.append(f"       output: {result['output']}")
        if step.get("error"):
            lines.append(f"       ERROR: {step['error']}")
    if trace.get("stop_reason"):
        lines.append(f"  stopped: {trace['stop_reason']}")
    if trace.get("error"):
        lines.append(f"  error: {trace['error']}")
    return "\n".join(lines)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
