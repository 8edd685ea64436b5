"""One loaded overlay at run time: what each slot shows now, the rotator timers, the connected pages.

The hub owns the state and the pages follow it: every page of an overlay (the OBS browser source,
a preview in the dashboard) shows the same item at the same time, and a page that reconnects is
told the current state instead of guessing. Changes (rotation, overlay.update/show/hide) are
pushed to the pages as small `slot` messages; the page never reloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, web

from .impressions import PageSession
from .manifest_schema import Item, Media, OverlayManifest
from .rotator import Rotator

_LOGGER = logging.getLogger(__name__)

# With no eligible item (outside every schedule window, or all at their hourly cap) check again after:
IDLE_RECHECK = 1.0
CONTENT_FIELDS = ("text", "image", "video")


@dataclass(eq=False)
class PageConnection:
    """One connected overlay page (a WebSocket)."""

    ws: web.WebSocketResponse
    request: web.Request
    session: PageSession | None = None
    preview: bool = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(json.dumps(message, separators=(",", ":")))
        except (ConnectionError, RuntimeError) as err:
            _LOGGER.debug("Overlay page gone while sending: %s", err)


@dataclass
class OverlayRuntime:
    name: str
    folder: Path
    tz: tzinfo
    manifest: OverlayManifest | None = None
    error: str | None = None
    key_hash: str | None = None
    generation: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    pages: set[PageConnection] = field(default_factory=set)
    current: dict[str, Item | None] = field(default_factory=dict)
    _rotators: dict[str, Rotator] = field(default_factory=dict)
    _timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    _running: bool = False

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the rotators (a broken or disabled overlay has none)."""
        self._running = True
        if self.manifest is None or not self.manifest.enabled:
            return
        for slot in self.manifest.slots.values():
            if slot.has_rotator:
                self._rotators[slot.name] = Rotator(slot.items, self.tz)
                self._advance(slot.name, broadcast=False)
            else:
                self.current[slot.name] = slot.static

    def stop(self) -> None:
        self._running = False
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    async def close_pages(self, code: int = WSCloseCode.GOING_AWAY, message: str = "overlay closed") -> None:
        pages = list(self.pages)
        for page in pages:
            await page.ws.close(code=code, message=message.encode())

    # -- state -----------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """Changes when the layout changes (the page rebuilds only then)."""
        body = json.dumps(self.manifest.as_page() if self.manifest else {"error": self.error}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def known_items(self) -> set[str]:
        if self.manifest is None:
            return set()
        found: set[str] = set()
        for slot in self.manifest.slots.values():
            found.update(item.id for item in slot.items)
            if slot.static is not None:
                found.add(slot.static.id)
        return found

    def slot_visible(self, slot_name: str) -> bool:
        assert self.manifest is not None
        override = self.overrides.get("slots", {}).get(slot_name, {})
        return bool(override.get("visible", self.manifest.slots[slot_name].visible)) and not self.overrides.get(
            "hidden", False
        )

    def content(self, item: Item | None) -> dict[str, Any] | None:
        """An item as the page renders it, with overlay.update's overrides applied."""
        if item is None or self.manifest is None:
            return None
        override = self.overrides.get("items", {}).get(item.id, {})
        out: dict[str, Any] = {"id": item.id, "duration": item.duration}
        for name in CONTENT_FIELDS:
            if name in override:
                value = override[name]
                if name != "text" and value is not None:
                    value = self.manifest.resolve_media(value, name).as_page()
            else:
                value = getattr(item, name)
                if isinstance(value, Media):
                    value = value.as_page()
            out[name] = value
        return out

    def slot_message(self, slot_name: str) -> dict[str, Any]:
        return {
            "type": "slot",
            "slot": slot_name,
            "visible": self.slot_visible(slot_name),
            "item": self.content(self.current.get(slot_name)),
        }

    def init_message(self) -> dict[str, Any]:
        if self.manifest is None or not self.manifest.enabled:
            return {
                "type": "init",
                "version": self.version,
                "error": self.error or f"overlay '{self.name}' is disabled (enabled: false in its manifest)",
            }
        return {
            "type": "init",
            "version": self.version,
            "manifest": self.manifest.as_page(),
            "slots": {name: self.slot_message(name) for name in self.manifest.slots},
        }

    def summary(self) -> dict[str, Any]:
        return (
            {
                name: {"visible": self.slot_visible(name), "item": item.id if item else None}
                for name, item in self.current.items()
            }
            if self.manifest
            else {}
        )

    # -- changes ---------------------------------------------------------------------------------
    async def broadcast(self, message: dict[str, Any]) -> None:
        if self.pages:
            await asyncio.gather(*(page.send(message) for page in list(self.pages)))

    def broadcast_soon(self, message: dict[str, Any]) -> None:
        if self.pages:
            asyncio.get_running_loop().create_task(self.broadcast(message))

    def _advance(self, slot_name: str, broadcast: bool = True) -> None:
        """Next rotator turn for a slot, and the timer for the one after."""
        old = self._timers.pop(slot_name, None)
        if old is not None:
            old.cancel()
        if not self._running:
            return
        rotator = self._rotators[slot_name]
        now = time.time()
        previous = self.current.get(slot_name)
        if previous is not None:
            rotator.cut_short(previous.id, now)
        item = rotator.choose(now) if self.slot_visible(slot_name) else None
        self.current[slot_name] = item
        loop = asyncio.get_running_loop()
        if item is not None:
            self._timers[slot_name] = loop.call_later(item.duration, self._advance, slot_name)
        elif self.slot_visible(slot_name):
            self._timers[slot_name] = loop.call_later(IDLE_RECHECK, self._advance, slot_name)
        changed = previous is not item
        if broadcast and (changed or item is not None):
            if changed or previous is None:
                self.broadcast_soon(self.slot_message(slot_name))

    def next(self, slot_name: str | None = None) -> list[str]:
        """overlay.next: advance one rotator slot (or all); returns the slots advanced."""
        names = [slot_name] if slot_name else list(self._rotators)
        for name in names:
            self._advance(name)
        return names

    def set_visible(self, slot_name: str | None, visible: bool) -> None:
        """overlay.show / overlay.hide for one slot, or the whole overlay."""
        assert self.manifest is not None
        if slot_name is None:
            self.overrides["hidden"] = not visible
            names = list(self.manifest.slots)
        else:
            self.overrides.setdefault("slots", {}).setdefault(slot_name, {})["visible"] = visible
            names = [slot_name]
        for name in names:
            if name in self._rotators:
                if not self.slot_visible(name):
                    # A hidden rotator pauses: its planned time would eat the item's hourly share.
                    handle = self._timers.pop(name, None)
                    if handle is not None:
                        handle.cancel()
                    current = self.current.get(name)
                    if current is not None:
                        self._rotators[name].cut_short(current.id, time.time())
                elif name not in self._timers:
                    self._advance(name, broadcast=False)
            self.broadcast_soon(self.slot_message(name))

    def update(self, item_id: str, fields: dict[str, Any], reset: bool) -> None:
        """overlay.update: text/image/video of one item (a static slot's item id is the slot name)."""
        items = self.overrides.setdefault("items", {})
        if reset:
            items.pop(item_id, None)
        if fields:
            items.setdefault(item_id, {}).update(fields)
        assert self.manifest is not None
        for name, current in self.current.items():
            if current is not None and current.id == item_id:
                self.broadcast_soon(self.slot_message(name))
