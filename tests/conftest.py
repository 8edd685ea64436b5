"""Shared fixtures: a real Hub on temporary directories, optionally with the real SQLite recorder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
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


@pytest.fixture(autouse=True)
def _environment_is_restored() -> Iterator[None]:
    """Each test gets the environment it started with back, so one test's variables (a PATH without
    ffmpeg, a HOME set by the container entrypoint) never reach another test's subprocesses."""
    before = dict(os.environ)
    yield
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)
