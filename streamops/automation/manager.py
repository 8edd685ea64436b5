"""The set of loaded automations: load, reload (diffing), look-ups, and the automation.* services.

Reload semantics (documented for users in the HTTP/CLI help and here):

- The new YAML is loaded and validated completely first. Any error → nothing changes, the old set
  keeps running, and the reload reports every error as FILE:LINE (service error / HTTP 400).
- Unchanged automations are left alone: their triggers stay attached and their runs go on.
- Changed automations: the old definition stops listening at once, and its running runs *finish
  under the old definition* (they are not cancelled); the new definition starts listening
  immediately. Its mode counts only its own runs. The old runs' traces are kept as usual.
- Removed automations stop listening; their running runs finish; then the entity is removed.
- The on/off state of an automation that survives a reload is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..config.errors import ConfigError
from ..core import STATE_ON, Hub
from .config import DEFAULT_PACK_DIR, AutomationConfig, LoadResult, load_all
from .entity import EVENT_AUTOMATION_RELOADED, AutomationEntity
from .traces import TraceStore

_LOGGER = logging.getLogger(__name__)

SectionReader = Callable[[], tuple[Any, list[ConfigError]]]


def read_user_section(config_dir: Path) -> tuple[Any, list[ConfigError]]:
    """The `automation:` section as it is on disk now, and any load errors of configuration.yaml.

    Any load error makes the section untrustworthy (a syntax error empties the whole file), so the
    caller must not apply a partial result.
    """
    from ..config.loading import load_configuration

    loaded = load_configuration(config_dir)
    return loaded.config.get("automation"), list(loaded.errors)


class ReloadError(Exception):
    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class AutomationManager:
    def __init__(
        self,
        hub: Hub,
        *,
        pack_dir: Path | None = DEFAULT_PACK_DIR,
        section_reader: SectionReader | None = None,
    ) -> None:
        self.hub = hub
        self.config_dir = hub.config.config_dir
        self.pack_dir = pack_dir
        self.traces = TraceStore(hub)
        self.entities: dict[str, AutomationEntity] = {}
        self._retired: set[AutomationEntity] = set()
        self._section_reader = section_reader or (lambda: read_user_section(self.config_dir))
        self._lock = asyncio.Lock()

    # -- look-ups --------------------------------------------------------------------------------
    def get(self, automation_id: str) -> AutomationEntity | None:
        entity = self.entities.get(automation_id)
        if entity is None:
            entity = next((e for e in self.entities.values() if e.entity_id == automation_id), None)
        return entity

    def by_entity_ids(self, entity_ids: Any) -> list[AutomationEntity]:
        if entity_ids in (None, "all", ["all"]):
            return list(self.entities.values())
        ids = [entity_ids] if isinstance(entity_ids, str) else list(entity_ids)
        found = []
        for entity_id in ids:
            entity = self.get(str(entity_id))
            if entity is None:
                from ..core import ServiceValidationError

                raise ServiceValidationError(f"no automation {entity_id}")
            found.append(entity)
        return found

    # -- loading ---------------------------------------------------------------------------------
    def load(self, section: Any) -> LoadResult:
        return load_all(section, self.config_dir, pack_dir=self.pack_dir)

    async def async_apply(self, configs: list[AutomationConfig]) -> None:
        """Make the running set match `configs` (see the module doc for what happens to runs)."""
        async with self._lock:
            new_ids = {c.id for c in configs}
            for automation_id in list(self.entities):
                if automation_id not in new_ids:
                    old = self.entities.pop(automation_id)
                    self._retire(old, remove_state=True)
            ordered = sorted(configs, key=lambda c: -c.priority)  # higher priority attaches first
            for config in ordered:
                old = self.entities.get(config.id)
                if old is not None and old.config.signature == config.signature:
                    continue
                was_on = old.enabled if old is not None else None
                if old is not None:
                    self._retire(old, remove_state=False)
                entity = AutomationEntity(self.hub, config, self.traces)
                if old is not None:
                    entity.last_triggered = old.last_triggered
                self.entities[config.id] = entity
                if self._initially_on(config, was_on):
                    await entity.async_enable()
                else:
                    entity.write_state()

    def _initially_on(self, config: AutomationConfig, was_on: bool | None) -> bool:
        if was_on is not None:
            return was_on
        if config.initial_state is not None:
            return config.initial_state
        restored = self.hub.states.get(config.entity_id)
        return restored is None or restored.state == STATE_ON

    def _retire(self, entity: AutomationEntity, *, remove_state: bool) -> None:
        entity.detach()
        entity.retired = True
        if not entity.script.is_running:
            if remove_state:
                self.hub.states.async_remove(entity.entity_id)
            return
        self._retired.add(entity)

        async def wait_then_clean() -> None:
            await entity.script.async_wait_idle()
            self._retired.discard(entity)
            if remove_state and entity.id not in self.entities:
                self.hub.states.async_remove(entity.entity_id)

        self.hub.async_create_background_task(wait_then_clean(), f"retire automation {entity.id}")

    async def async_reload(self) -> list[AutomationConfig]:
        """Re-read the YAML; raise ReloadError (old set untouched) when anything is invalid."""
        section, load_errors = await asyncio.get_running_loop().run_in_executor(None, self._section_reader)
        if load_errors:
            raise ReloadError(load_errors)
        result = self.load(section)
        if result.errors:
            raise ReloadError(result.errors)
        await self.async_apply(result.automations)
        self.hub.bus.async_fire(EVENT_AUTOMATION_RELOADED, {"count": len(result.automations)})
        _LOGGER.info("Reloaded %d automation(s)", len(result.automations))
        return result.automations

    async def async_stop(self) -> None:
        for entity in [*self.entities.values(), *self._retired]:
            entity.detach()
            await entity.script.async_stop()

    @property
    def running(self) -> int:
        return sum(e.script.runs for e in [*self.entities.values(), *self._retired])

    def summaries(self) -> list[dict[str, Any]]:
        out = []
        for entity in self.entities.values():
            out.append(
                {
                    **entity.config.summary(),
                    "state": "on" if entity.enabled else "off",
                    "current": entity.script.runs,
                    "last_triggered": entity.attributes()["last_triggered"],
                }
            )
        return out


def trigger_payload_for_file(path: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A synthetic `file_closed` trigger (simulate): what the drives integration's platform sends."""
    import os

    try:
        size = os.stat(path).st_size
    except OSError:
        size = None
    return {
        "platform": "file_closed",
        "id": "simulate",
        "idx": "0",
        "path": str(path),
        "size": size,
        "description": f"file closed: {path} (simulated)",
        **(extra or {}),
    }
