"""The `overlay.*` services (the original rule format's `overlay_update` action calls overlay.update).

Every service takes `overlay:` (the pack's folder name; optional when exactly one overlay is
loaded). A dry run touches nothing and returns what would change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import voluptuous as vol

from streamops.core import Hub, ServiceCall, ServiceValidationError, SupportsResponse

from .runtime import OverlayRuntime

if TYPE_CHECKING:
    from .manager import OverlayManager

SERVICE_DOMAIN = "overlay"

_TARGET = {vol.Optional("overlay"): vol.Any(None, str), vol.Optional("slot"): vol.Any(None, str)}
UPDATE_SCHEMA = vol.Schema(
    {
        **_TARGET,
        vol.Optional("item"): vol.Any(None, str),
        vol.Optional("text"): vol.Any(None, vol.All(vol.Coerce(str), vol.Length(max=2000))),
        vol.Optional("image"): vol.Any(None, str),
        vol.Optional("video"): vol.Any(None, str),
        vol.Optional("reset", default=False): bool,
    }
)


def _runtime(manager: OverlayManager, data: dict[str, Any], *, usable: bool = True) -> OverlayRuntime:
    name = data.get("overlay")
    if not name:
        if len(manager.overlays) != 1:
            names = ", ".join(sorted(manager.overlays)) or "none loaded"
            raise ServiceValidationError(f"name the overlay with 'overlay:' ({names})")
        name = next(iter(manager.overlays))
    runtime = manager.overlays.get(name)
    if runtime is None:
        names = ", ".join(sorted(manager.overlays)) or "none loaded"
        raise ServiceValidationError(f"no overlay named {name!r} (loaded: {names})")
    if usable and runtime.manifest is None:
        raise ServiceValidationError(f"overlay {name!r} has a broken manifest: {runtime.error}")
    return runtime


def _slot(runtime: OverlayRuntime, slot: str | None) -> str | None:
    assert runtime.manifest is not None
    if slot is not None and slot not in runtime.manifest.slots:
        raise ServiceValidationError(
            f"overlay {runtime.name!r} has no slot {slot!r} (slots: {', '.join(runtime.manifest.slots)})"
        )
    return slot


def register_services(hub: Hub, manager: OverlayManager) -> None:
    async def show_hide(call: ServiceCall) -> dict[str, Any]:
        runtime = _runtime(manager, call.data)
        slot = _slot(runtime, call.data.get("slot"))
        visible = call.service == "show"
        if call.dry_run:
            return {"dry_run": True, "overlay": runtime.name, "slot": slot, "visible": visible}
        runtime.set_visible(slot, visible)
        await manager.save_overrides(runtime)
        return {"overlay": runtime.name, "slots": runtime.summary()}

    async def next_item(call: ServiceCall) -> dict[str, Any]:
        runtime = _runtime(manager, call.data)
        slot = _slot(runtime, call.data.get("slot"))
        assert runtime.manifest is not None
        if slot is not None and not runtime.manifest.slots[slot].has_rotator:
            raise ServiceValidationError(f"slot {slot!r} of {runtime.name!r} has no rotator")
        if call.dry_run:
            return {"dry_run": True, "overlay": runtime.name, "slot": slot}
        runtime.next(slot)
        return {"overlay": runtime.name, "slots": runtime.summary()}

    async def update(call: ServiceCall) -> dict[str, Any]:
        data = call.data
        runtime = _runtime(manager, data)
        manifest = runtime.manifest
        assert manifest is not None
        slot = _slot(runtime, data.get("slot"))
        item_id = data.get("item")
        if item_id is None:
            if slot is None:
                raise ServiceValidationError("name the 'slot' (static content) or the rotator 'item' to update")
            static = manifest.slots[slot].static
            if static is None:
                items = ", ".join(i.id for i in manifest.slots[slot].items)
                raise ServiceValidationError(f"slot {slot!r} is a rotator: name the 'item' to update ({items})")
            item_id = static.id
        elif manifest.item(item_id) is None:
            raise ServiceValidationError(f"overlay {runtime.name!r} has no item {item_id!r}")
        fields = {name: data[name] for name in ("text", "image", "video") if name in data}
        if not fields and not data["reset"]:
            raise ServiceValidationError("give at least one of text, image, video (or reset: true)")
        for kind in ("image", "video"):
            if fields.get(kind):
                try:
                    media = manifest.resolve_media(fields[kind], kind)
                except ValueError as err:
                    raise ServiceValidationError(str(err)) from err
                if media.missing:
                    import logging

                    logging.getLogger(__package__).warning(
                        "Overlay %s: %s file %r not found; the page shows a placeholder", runtime.name, kind, media.path
                    )
        if call.dry_run:
            return {"dry_run": True, "overlay": runtime.name, "item": item_id, "set": fields, "reset": data["reset"]}
        runtime.update(item_id, fields, data["reset"])
        await manager.save_overrides(runtime)
        return {"overlay": runtime.name, "item": item_id, "set": fields}

    async def rotate_key(call: ServiceCall) -> dict[str, Any]:
        runtime = _runtime(manager, call.data, usable=False)
        if call.dry_run:
            return {"dry_run": True, "overlay": runtime.name, "pages_closed": len(runtime.pages)}
        await manager.rotate_key(runtime)
        return {"overlay": runtime.name, "url": manager.url(runtime), "preview_url": manager.url(runtime, True)}

    async def reload(call: ServiceCall) -> dict[str, Any]:
        if call.dry_run:
            return {"dry_run": True, "directory": str(manager.folder)}
        results = await manager.async_load()
        return {"overlays": {name: error or "ok" for name, error in results.items()}}

    target = vol.Schema(_TARGET)
    options = {"supports_response": SupportsResponse.OPTIONAL, "supports_dry_run": True}
    services = hub.services
    services.async_register(
        SERVICE_DOMAIN, "show", show_hide, target, description="Show an overlay slot (or the whole overlay).", **options
    )
    services.async_register(
        SERVICE_DOMAIN,
        "hide",
        show_hide,
        target,
        description="Hide an overlay slot (or the whole overlay); a hidden rotator pauses.",
        **options,
    )
    services.async_register(
        SERVICE_DOMAIN,
        "next",
        next_item,
        target,
        description="Skip to the rotator's next item (one slot, or every rotator).",
        **options,
    )
    services.async_register(
        SERVICE_DOMAIN,
        "update",
        update,
        UPDATE_SCHEMA,
        description="Set the text/image/video of a slot's content or a rotator item; the page changes at once.",
        **options,
    )
    services.async_register(
        SERVICE_DOMAIN,
        "rotate_key",
        rotate_key,
        vol.Schema({vol.Optional("overlay"): vol.Any(None, str)}),
        description="Revoke an overlay's URL key and make a new one (the response has the new URL).",
        **options,
    )
    services.async_register(
        SERVICE_DOMAIN,
        "reload",
        reload,
        vol.Schema({}),
        description="Re-read every overlay manifest; pages re-render without reloading.",
        **options,
    )
