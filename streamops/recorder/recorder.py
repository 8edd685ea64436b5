"""Placeholder replaced by the recorder helper: state history, restore, purge, traces."""

from __future__ import annotations

from typing import Any

from ..core import Hub
from .database import Database


class Recorder:
    def __init__(self, hub: Hub, db: Database, config: dict[str, Any]) -> None:
        self.hub = hub
        self.db = db
        self.config = config

    async def async_start(self) -> None:
        return None

    async def async_stop(self) -> None:
        return None
