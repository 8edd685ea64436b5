"""The Hub: owner of the bus, the states, the services and the running tasks."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar, cast, overload

from .. import __version__
from .bus import EventBus
from .services import ServiceRegistry
from .states import StateMachine

_LOGGER = logging.getLogger(__name__)

EVENT_STREAMOPS_STARTED = "streamops_started"
EVENT_STREAMOPS_STOP = "streamops_stop"

T = TypeVar("T")


class HubKey(Generic[T]):
    """A typed key for `hub.data`, so `hub.data[JOBS]` is a JobQueue to the type checker.

    Home Assistant's untyped string keys make every lookup an `Any`; a typed key costs nothing.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"HubKey({self.name!r})"


class HubData(dict[HubKey[Any], Any]):
    """Per-integration runtime objects, looked up by typed keys."""

    @overload
    def get(self, key: HubKey[T]) -> T | None: ...
    @overload
    def get(self, key: HubKey[T], default: T) -> T: ...
    def get(self, key: HubKey[Any], default: Any = None) -> Any:
        return super().get(key, default)

    def __getitem__(self, key: HubKey[T]) -> T:  # type: ignore[override]
        return cast(T, super().__getitem__(key))


class CoreState(StrEnum):
    NOT_RUNNING = "not_running"
    STARTING = "starting"
    RUNNING = "running"
    SAFE_MODE = "safe_mode"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass
class HubConfig:
    """Where things live and what was loaded. Paths outside `allowed_dirs` are never touched."""

    config_dir: Path
    data_dir: Path
    raw: dict[str, Any] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)
    components: set[str] = field(default_factory=set)
    allowed_dirs: list[Path] = field(default_factory=list)
    version: str = __version__
    location_name: str = "StreamOps"
    time_zone: str = field(default_factory=lambda: os.environ.get("TZ", "UTC"))

    @property
    def safe_mode(self) -> bool:
        return bool(self.errors)

    def path(self, *parts: str) -> Path:
        return self.data_dir.joinpath(*parts)

    def is_allowed_path(self, path: str | os.PathLike[str]) -> bool:
        """True when `path` resolves (symlinks followed) inside one of the configured drives."""
        try:
            resolved = Path(path).resolve()
        except (OSError, RuntimeError, ValueError):  # ValueError: a NUL byte in the path
            return False
        return any(resolved == root or root in resolved.parents for root in (d.resolve() for d in self.allowed_dirs))

    def as_dict(self) -> dict[str, Any]:
        return {
            "location_name": self.location_name,
            "version": self.version,
            "time_zone": self.time_zone,
            "config_dir": str(self.config_dir),
            "components": sorted(self.components),
            "safe_mode": self.safe_mode,
            "state": "",
            "unit_system": {"length": "km", "mass": "kg", "temperature": "°C", "volume": "L"},
            "allowlist_external_dirs": [str(d) for d in self.allowed_dirs],
            "config_errors": [str(e) for e in self.errors],
        }


class Hub:
    """The running StreamOps instance. Create it inside a running event loop."""

    def __init__(self, config_dir: Path | str, data_dir: Path | str) -> None:
        self.loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background_tasks: set[asyncio.Task[Any]] = set()
        self.bus = EventBus(self.loop, self.async_create_task)
        self.states = StateMachine(self.bus)
        self.services = ServiceRegistry(self.bus)
        self.config = HubConfig(Path(config_dir), Path(data_dir))
        self.data = HubData()
        self.state = CoreState.NOT_RUNNING
        self._stop_callbacks: list[Any] = []
        self._start_callbacks: list[Any] = []
        self.stopped = asyncio.Event()

    # -- tasks -----------------------------------------------------------------------------------
    def async_create_task(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        """A task that `async_block_till_done` waits for (short work caused by an event)."""
        task = self.loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def async_create_background_task(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """A long-lived task (watchers, connections) cancelled at stop, not awaited by tests."""
        task = self.loop.create_task(coro, name=name)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("Background task %s died", task.get_name(), exc_info=task.exception())

    async def async_block_till_done(self, timeout: float = 30.0) -> None:
        """Wait until no event is queued and every tracked task has finished (for tests)."""
        async with asyncio.timeout(timeout):
            while True:
                await asyncio.sleep(0)
                if self.bus.pending:
                    continue
                pending = [task for task in self._tasks if not task.done()]
                if not pending:
                    await asyncio.sleep(0)
                    if not self.bus.pending and not any(not t.done() for t in self._tasks):
                        return
                    continue
                await asyncio.wait(pending)

    # -- life cycle ------------------------------------------------------------------------------
    def async_on_stop(self, callback: Any) -> None:
        """Register a (sync or async) callable run at stop, in reverse order of registration."""
        self._stop_callbacks.append(callback)

    def async_on_start(self, callback: Any) -> None:
        """Register a (sync or async) callable awaited by async_start before `streamops_started` fires.

        Components register routes and triggers during setup; what must wait until every component
        is set up (binding the HTTP port, loading automations) starts here.
        """
        self._start_callbacks.append(callback)

    async def async_start(self) -> None:
        self.state = CoreState.STARTING
        for callback in self._start_callbacks:
            result = callback()
            if asyncio.iscoroutine(result):
                await result
        self.state = CoreState.SAFE_MODE if self.config.safe_mode else CoreState.RUNNING
        self.bus.async_fire(EVENT_STREAMOPS_STARTED, {"safe_mode": self.config.safe_mode})
        await asyncio.sleep(0)

    async def async_stop(self, exit_code: int = 0) -> None:
        if self.state in (CoreState.STOPPING, CoreState.STOPPED):
            return
        self.state = CoreState.STOPPING
        self.bus.async_fire(EVENT_STREAMOPS_STOP, {"exit_code": exit_code})
        try:
            await self.async_block_till_done(timeout=10)
        except TimeoutError:
            _LOGGER.warning("Tasks still running at stop; cancelling them")
        for callback in reversed(self._stop_callbacks):
            try:
                result = callback()
                if asyncio.iscoroutine(result):
                    await asyncio.wait_for(result, timeout=15)
            except Exception:
                _LOGGER.exception("Error while stopping (%r)", callback)
        # The stop itself may run as a tracked task (a signal handler): never cancel or await ourselves.
        current = asyncio.current_task()
        others = [task for task in (*self._background_tasks, *self._tasks) if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self.state = CoreState.STOPPED
        self.stopped.set()
