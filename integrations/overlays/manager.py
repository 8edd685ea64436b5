"""OverlayManager: finds the overlay packs, keeps their keys and overrides in SQLite, runs them.

One broken manifest never takes the others down: it becomes an overlay in the error state (its
`FILE:LINE: message` logged, shown by `GET /api/overlays`, and sent to its page, which stays
transparent in OBS), and `overlay.reload` picks up the fix without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streamops.config import ConfigError, ConfigErrors
from streamops.core import Hub
from streamops.recorder.database import Database

from .impressions import ImpressionLedger
from .keys import derive_key, hash_key, key_matches, load_or_create_secret
from .manifest_schema import NAME_RE, find_manifest, load_manifest
from .runtime import OverlayRuntime

_LOGGER = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 5.0


def hub_tz(hub: Hub) -> ZoneInfo:
    try:
        return ZoneInfo(hub.config.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        _LOGGER.warning("Unknown time zone %r; overlay schedules and impression days use UTC", hub.config.time_zone)
        return ZoneInfo("UTC")


class OverlayManager:
    def __init__(self, hub: Hub, db: Database, config: dict[str, Any]) -> None:
        self.hub = hub
        self.db = db
        self.config = config
        self.tz = hub_tz(hub)
        self.folder = Path(config["directory"])
        if not self.folder.is_absolute():
            self.folder = hub.config.config_dir / self.folder
        self.ledger = ImpressionLedger(db, self.tz, reconnect_grace=config["reconnect_grace"])
        self.overlays: dict[str, OverlayRuntime] = {}
        self._secret = load_or_create_secret(hub.config.path("overlays", "key_secret"))
        self._task: asyncio.Task[None] | None = None

    # -- loading ---------------------------------------------------------------------------------
    def _folders(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")) and find_manifest(p)
        )

    async def async_load(self) -> dict[str, str | None]:
        """(Re)load every pack; returns {name: error or None}. Pages of changed overlays re-render."""
        found: dict[str, OverlayRuntime] = {}
        for folder in self._folders():
            runtime = OverlayRuntime(name=folder.name, folder=folder, tz=self.tz)
            try:
                runtime.manifest = load_manifest(folder, self.hub.config.config_dir)
            except ConfigErrors as err:
                runtime.error = str(err)
                for line in err.errors:
                    _LOGGER.error("Overlay %s: %s", folder.name, line)
            except ConfigError as err:  # pragma: no cover - load_manifest wraps single errors
                runtime.error = str(err)
                _LOGGER.error("Overlay %s: %s", folder.name, err)
            if runtime.manifest is not None:
                for warning in runtime.manifest.warnings:
                    _LOGGER.warning("Overlay %s: %s", folder.name, warning)
            if not NAME_RE.match(folder.name):
                continue  # the error is logged; such a name cannot be part of a URL
            found[folder.name] = runtime
        for runtime in found.values():
            await self._load_row(runtime)
        # Swap: stop the old runtimes, keep their pages by moving them to the new ones.
        old, self.overlays = self.overlays, found
        for name, runtime in old.items():
            runtime.stop()
            replacement = found.get(name)
            if replacement is None:
                self.ledger.close_overlay(name)
                await runtime.close_pages(message="overlay removed")
            else:
                replacement.pages = runtime.pages
        for runtime in found.values():
            runtime.start()
            await runtime.broadcast(runtime.init_message())
        return {name: runtime.error for name, runtime in found.items()}

    async def _load_row(self, runtime: OverlayRuntime) -> None:
        """The overlay's key (created on first load) and its saved overrides."""
        row = await self.db.fetchone(
            "SELECT name, key_hash, key_generation, overrides FROM so_overlays WHERE name = ?", (runtime.name,)
        )
        generation = row["key_generation"] if row is not None else 0
        expected = hash_key(derive_key(self._secret, runtime.name, generation))
        page = json.dumps(runtime.manifest.as_page() if runtime.manifest else {"error": runtime.error})
        if row is None:
            await self.db.execute(
                "INSERT INTO so_overlays (name, manifest, key_hash, enabled, updated, key_generation, overrides)"
                " VALUES (?, ?, ?, ?, ?, 0, '{}')",
                (runtime.name, page, expected, int(bool(runtime.manifest and runtime.manifest.enabled)), time.time()),
            )
            _LOGGER.info("Overlay %s: created its read-only key (see GET /api/overlays for the URL)", runtime.name)
        else:
            if row["key_hash"] != expected:
                # The secret file was replaced (restored backup of the database only, say): the old key
                # cannot be recomputed, so the URL changes and the owner must copy it again.
                _LOGGER.warning(
                    "Overlay %s: its key no longer matches the key secret in the data dir; a new key was made"
                    " (copy the new URL from GET /api/overlays into OBS)",
                    runtime.name,
                )
            await self.db.execute(
                "UPDATE so_overlays SET manifest = ?, key_hash = ?, enabled = ?, updated = ? WHERE name = ?",
                (page, expected, int(bool(runtime.manifest and runtime.manifest.enabled)), time.time(), runtime.name),
            )
            with contextlib.suppress(ValueError, TypeError):
                loaded = json.loads(row["overrides"] or "{}")
                runtime.overrides = loaded if isinstance(loaded, dict) else {}
        runtime.generation = generation
        runtime.key_hash = expected

    async def save_overrides(self, runtime: OverlayRuntime) -> None:
        await self.db.execute(
            "UPDATE so_overlays SET overrides = ?, updated = ? WHERE name = ?",
            (json.dumps(runtime.overrides), time.time(), runtime.name),
        )

    # -- keys and URLs ---------------------------------------------------------------------------
    def check_key(self, name: str, key: str | None) -> OverlayRuntime | None:
        """The overlay when `key` is its current key; None otherwise (unknown names look the same)."""
        runtime = self.overlays.get(name)
        if runtime is None or not key_matches(key, runtime.key_hash):
            return None
        return runtime

    def key(self, runtime: OverlayRuntime) -> str:
        return derive_key(self._secret, runtime.name, runtime.generation)

    def base_url(self) -> str:
        configured = self.config.get("base_url")
        if configured:
            return str(configured).rstrip("/")
        from streamops.api import HTTP

        server = self.hub.data.get(HTTP)
        return server.url if server is not None else "http://127.0.0.1:7767"

    def url(self, runtime: OverlayRuntime, preview: bool = False) -> str:
        return f"{self.base_url()}/overlay/{runtime.name}?key={self.key(runtime)}" + ("&preview=1" if preview else "")

    async def rotate_key(self, runtime: OverlayRuntime) -> None:
        """A new key; the old URL stops working and its open pages are told and closed."""
        runtime.generation += 1
        runtime.key_hash = hash_key(self.key(runtime))
        await self.db.execute(
            "UPDATE so_overlays SET key_hash = ?, key_generation = ?, updated = ? WHERE name = ?",
            (runtime.key_hash, runtime.generation, time.time(), runtime.name),
        )
        await runtime.broadcast({"type": "revoked"})
        for page in list(runtime.pages):
            if page.session is not None:
                self.ledger.close_session(page.session, self.ledger.monotonic())
                page.session = None
        await runtime.close_pages(code=4403, message="key revoked")
        _LOGGER.info("Overlay %s: key rotated; the previous URL no longer works", runtime.name)

    # -- running ---------------------------------------------------------------------------------
    def start_checkpoints(self) -> None:
        self._task = self.hub.async_create_background_task(self._checkpoint_loop(), "overlay impressions")

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            try:
                self.ledger.checkpoint()
                await self.ledger.flush()
            except Exception:
                _LOGGER.exception("Could not write overlay impressions (retrying)")

    async def async_stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for runtime in self.overlays.values():
            runtime.stop()
        now = self.ledger.monotonic()
        for session in list(self.ledger.sessions.values()):
            self.ledger.close_session(session, now if session.connected else None)
        try:
            await self.ledger.flush()
        except Exception:
            _LOGGER.exception("Could not write the last overlay impressions")
        for runtime in self.overlays.values():
            await runtime.close_pages(message="hub stopping")
