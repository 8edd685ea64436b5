"""Shared fixtures: a real Hub on temporary directories, optionally with the real SQLite recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from streamops.core import Hub


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    """A bare hub (no components) whose config and data dirs live under tmp_path."""
    config_dir = tmp_path / "config"
    data_dir = tmp_path / "data"
    config_dir.mkdir()
    data_dir.mkdir()
    instance = Hub(config_dir, data_dir)
    yield instance
    await instance.async_stop()


@pytest.fixture
async def db_hub(hub: Hub) -> Hub:
    """A hub with the recorder set up on a real SQLite file (all migrations applied)."""
    from streamops.recorder import CONFIG_SCHEMA, async_setup

    assert await async_setup(hub, CONFIG_SCHEMA({}))
    return hub
