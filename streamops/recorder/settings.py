"""Settings the UI changes (`so_configs`): JSON values by key, with the time they were last changed.

Values must be plain JSON (refused otherwise, naming the key): a setting is read back exactly as the
user saved it, unlike history where anything is stringified rather than lost.
"""

from __future__ import annotations

import time
from typing import Any

from .database import Database
from .serialize import dumps_strict, loads


async def get_setting(db: Database, key: str, default: Any = None) -> Any:
    row = await db.fetchone("SELECT value FROM so_configs WHERE key = ?", (key,))
    return loads(row["value"]) if row is not None else default


async def set_setting(db: Database, key: str, value: Any) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"setting key must be a non-empty string (got {key!r})")
    encoded = dumps_strict(value, f"setting {key!r}")
    await db.execute(
        "INSERT INTO so_configs (key, value, updated) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
        (key, encoded, time.time()),
    )


async def delete_setting(db: Database, key: str) -> bool:
    return await db.execute("DELETE FROM so_configs WHERE key = ?", (key,)) > 0


async def get_settings(db: Database, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every setting whose key starts with `prefix`: {key: {"value": ..., "updated": ts}}."""
    # substr, not LIKE: LIKE is case-insensitive and treats % and _ as wildcards.
    rows = await db.fetchall(
        "SELECT key, value, updated FROM so_configs WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
    )
    return {row["key"]: {"value": loads(row["value"]), "updated": row["updated"]} for row in rows}
