"""Recorder: the SQLite database, state/event history, state restore and automation traces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey
from .database import Database, MigrationError

DOMAIN = "recorder"

DATABASE: HubKey[Database] = HubKey("recorder.database")

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("db_path"): str,
        vol.Optional("purge_keep_days", default=10): vol.All(int, vol.Range(min=1)),
        vol.Optional("commit_interval", default=1.0): vol.All(vol.Coerce(float), vol.Range(min=0.05, max=60)),
        vol.Optional("exclude_event_types", default=[]): [str],
    }
)


def migration_sources() -> list[tuple[str, Path]]:
    """Every discovered component's migrations folder: the full schema exists whatever is configured."""
    from ..loader import discover

    integrations = discover()
    sources = [("recorder", Path(__file__).parent / "migrations")]
    sources += [
        (domain, integration.migrations)
        for domain, integration in sorted(integrations.items())
        if integration.migrations is not None and domain != "recorder"
    ]
    return sources


async def async_open_database(hub: Hub, config: dict[str, Any]) -> Database:
    """Open (creating and migrating) the database; shared by the hub and the CLI's offline commands."""
    path = Path(config.get("db_path") or hub.config.path("db", "streamops.db"))
    db = Database(path)
    await db.open()
    try:
        await db.migrate(migration_sources())
    except MigrationError:
        await db.close()
        raise
    hub.data[DATABASE] = db
    return db


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from .recorder import Recorder

    db = await async_open_database(hub, config)
    recorder = Recorder(hub, db, config)
    hub.data[RECORDER] = recorder
    await recorder.async_start()
    hub.async_on_stop(db.close)
    hub.async_on_stop(recorder.async_stop)
    return True


from .recorder import Recorder  # noqa: E402

RECORDER: HubKey[Recorder] = HubKey("recorder")

__all__ = ["DATABASE", "DOMAIN", "RECORDER", "Database", "MigrationError", "Recorder", "async_open_database"]
