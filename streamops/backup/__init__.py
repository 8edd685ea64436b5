"""Backup and restore: one zip in `<data>/backup` with the config, the database and overlay packs.

`streamops backup` / `streamops restore FILE` (cli.py) and the API (http.py) share archive.py
(creating) and restore.py (validating, then replacing). Configuration (`backup:`)::

    backup:
      keep: 10              # backups made through the API/UI beyond this many are deleted (oldest first)
      update_check: false   # opt in: compare with the latest release on PyPI at start and daily

Also home of the `streamops docker-run` generator (docker_run.py): the container's operations
live together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey
from .archive import BackupError, Locations, create_backup, list_backups, locations_for
from .restore import RestoreError, apply_restore, validate_backup

DOMAIN = "backup"

BACKUP_SETTINGS: HubKey[dict[str, Any]] = HubKey("backup.settings")

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("keep", default=10): vol.All(vol.Coerce(int), vol.Range(min=1, max=1000)),
        vol.Optional("update_check", default=False): bool,
        vol.Optional("update_url"): vol.Url(),
    }
)


def locations_of(hub: Hub) -> Locations:
    """Where this hub keeps what a backup holds (the database path is the open database's)."""
    from ..recorder import DATABASE

    db = hub.data.get(DATABASE)
    sections = hub.config.raw or {}
    db_path = Path(db.path) if db is not None else None
    return locations_for(hub.config.data_dir, hub.config.config_dir, db_path, sections)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    hub.data[BACKUP_SETTINGS] = config
    try:
        from ..api import HTTP
    except ImportError:  # pragma: no cover - http is part of the core
        HTTP = None  # type: ignore[assignment]
    server = hub.data.get(HTTP) if HTTP is not None else None
    if server is not None:
        from .http import add_routes

        add_routes(server.app, hub)
    if config["update_check"]:
        from .update_check import DEFAULT_URL, update_loop

        url = config.get("update_url") or DEFAULT_URL

        async def _start() -> None:
            hub.async_create_background_task(update_loop(hub, url), "backup-update-check")

        hub.async_on_start(_start)
    return True


__all__ = [
    "BACKUP_SETTINGS",
    "CONFIG_SCHEMA",
    "DOMAIN",
    "BackupError",
    "Locations",
    "RestoreError",
    "apply_restore",
    "async_setup",
    "create_backup",
    "list_backups",
    "locations_of",
    "validate_backup",
]
