"""Helpers for the automation tests: a real hub with automations from YAML, and stand-in services.

The stand-ins are small services registered on the test hub in place of media/files/assets, which
other components provide: they record every call and, like the real ones must, return their plan
on a dry run (`{"dry_run": True, "command": [...], "output": ...}`) and `{"output": ...}` for real.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from streamops.automation import AUTOMATIONS, CONFIG_SCHEMA, PACK_DIR, async_setup
from streamops.automation.manager import AutomationManager
from streamops.config.loading import load_configuration
from streamops.core import Hub, ServiceCall, ServiceError, SupportsResponse


async def setup_automations(
    hub: Hub, automations_yaml: str, *, pack: bool = False, start: bool = True, extra_config: str = ""
) -> AutomationManager:
    config_dir = hub.config.config_dir
    (config_dir / "configuration.yaml").write_text(f"automation: !include automations.yaml\n{extra_config}")
    (config_dir / "automations.yaml").write_text(automations_yaml)
    loaded = load_configuration(config_dir)
    assert not loaded.errors, [str(e) for e in loaded.errors]
    if not pack:
        hub.data[PACK_DIR] = None
    assert await async_setup(hub, CONFIG_SCHEMA(loaded.config.get("automation")))
    if start:
        await hub.async_start()
    return hub.data[AUTOMATIONS]


class Calls:
    """Every call of the stand-in services, and an event per call to wait on."""

    def __init__(self) -> None:
        self.items: list[ServiceCall] = []
        self.changed = asyncio.Condition()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ServiceCall]:
        async with asyncio.timeout(timeout):
            async with self.changed:
                await self.changed.wait_for(lambda: len(self.items) >= count)
        return self.items

    def names(self) -> list[str]:
        return [f"{c.domain}.{c.service}" for c in self.items]


def _source(call: ServiceCall) -> str:
    return str(call.data.get("input") or call.data.get("source") or call.data.get("path") or "")


def _output_for(call: ServiceCall) -> str | None:
    path = _source(call)
    if call.service == "remux":
        return str(Path(path).with_suffix("." + str(call.data.get("format", "mov"))))
    if call.service in ("move", "archive"):
        dest = str(call.data.get("destination", ""))
        return str(Path(dest) / Path(path).name) if dest.endswith("/") else dest
    if call.service == "transcode":
        return str(Path(path).with_name(Path(path).stem + "_transcoded.mp4"))
    return None


def register_fake_services(hub: Hub, *, fail: set[str] | None = None, duration: float | None = None) -> Calls:
    """media.*, files.*, assets.*, test.* stand-ins. `fail` names services that raise ServiceError."""
    calls = Calls()
    fail = fail or set()

    def make(domain: str, service: str) -> Any:
        async def handler(call: ServiceCall) -> dict[str, Any]:
            name = f"{domain}.{service}"
            if call.dry_run:
                output = _output_for(call)
                plan: dict[str, Any] = {"dry_run": True, "command": [service, _source(call)]}
                if service == "remux":
                    plan["command"] = [
                        "ffmpeg",
                        "-hide_banner",
                        "-loglevel",
                        "error",
                        "-fflags",
                        "+genpts",
                        "-i",
                        _source(call),
                        "-map",
                        "0",
                        "-c",
                        "copy",
                        "-movflags",
                        "+faststart",
                        str(output),
                    ]
                if output:
                    plan["output"] = output
                if service == "index" and duration is not None:
                    plan["duration"] = duration
                calls.items.append(call)
                async with calls.changed:
                    calls.changed.notify_all()
                return plan
            calls.items.append(call)
            async with calls.changed:
                calls.changed.notify_all()
            if name in fail:
                raise ServiceError(f"{name} failed on purpose")
            result: dict[str, Any] = {"ok": True}
            output = _output_for(call)
            if output:
                result["output"] = output
            if service == "index" and duration is not None:
                result["duration"] = duration
            if service == "echo":
                result = {"echo": dict(call.data)}
            return result

        return handler

    for domain, services in {
        "media": ["remux", "proxy", "thumbnail", "sprite", "hover", "waveform", "transcode", "social_export"],
        "files": ["move", "copy", "archive", "write_sidecar"],
        "assets": ["index", "tag"],
        "test": ["record", "echo", "slow"],
    }.items():
        for service in services:
            hub.services.async_register(
                domain,
                service,
                make(domain, service),
                supports_response=SupportsResponse.OPTIONAL,
                supports_dry_run=True,
            )
    return calls
