"""HTTP side of overlays: the page, its assets and its WebSocket (key-protected, outside /api), and
the owner's API (`/api/overlays...`, admin token as for every /api route).

Keys stay out of logs: the hub's access log is off, our messages name the overlay and never the URL
or query string, and the page is served with `Referrer-Policy: no-referrer` so its key is not passed
on to anything it loads. A wrong or missing key gets a bare 403 whether or not the overlay exists.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from streamops.api.helpers import JsonError, json_response

from .runtime import PageConnection

if TYPE_CHECKING:
    from .manager import OverlayManager

_LOGGER = logging.getLogger(__name__)

WWW_DIR = Path(__file__).resolve().parents[2] / "www" / "overlay"
MAX_PAGE_MESSAGE = 16 * 1024
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        " media-src 'self'; font-src 'self'; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'"
    ),
}
# Pack files are served same-origin: an SVG opened directly must not run scripts in the hub's origin.
ASSET_HEADERS = {
    "Cache-Control": "private, max-age=60",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
}
FORBIDDEN = "403: this overlay URL's key is missing, wrong or revoked (copy the URL again from the hub)"


def register_routes(app: web.Application, manager: OverlayManager) -> None:
    if not WWW_DIR.is_dir():
        raise FileNotFoundError(f"overlay page files not found at {WWW_DIR}")
    app.router.add_static("/overlay/_static", WWW_DIR, append_version=False)
    app.router.add_get("/overlay/{name}", _page(manager))
    app.router.add_get("/overlay/{name}/ws", _websocket(manager))
    app.router.add_get("/overlay/{name}/assets/{path:.+}", _asset(manager))
    app.router.add_get("/api/overlays", _list(manager))
    app.router.add_get("/api/overlays/{name}/impressions", _impressions(manager))
    app.router.add_get("/api/overlays/{name}/impressions.csv", _impressions_csv(manager))


def _forbidden() -> web.Response:
    return web.Response(status=403, text=FORBIDDEN, headers={"Cache-Control": "no-store"})


def _page(manager: OverlayManager) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        if manager.check_key(request.match_info["name"], request.query.get("key")) is None:
            return _forbidden()
        body = (WWW_DIR / "index.html").read_text(encoding="utf-8")
        return web.Response(text=body, content_type="text/html", headers=PAGE_HEADERS)

    return handler


def _asset(manager: OverlayManager) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        runtime = manager.check_key(request.match_info["name"], request.query.get("key"))
        if runtime is None:
            return _forbidden()
        folder = runtime.folder.resolve()
        try:
            target = (folder / request.match_info["path"]).resolve()
        except (OSError, RuntimeError):
            raise web.HTTPNotFound() from None
        if folder not in target.parents or not target.is_file() or target.name.startswith("manifest."):
            raise web.HTTPNotFound()
        return web.FileResponse(target, headers=ASSET_HEADERS)

    return handler


def _websocket(manager: OverlayManager) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        runtime = manager.check_key(name, request.query.get("key"))
        if runtime is None:
            return _forbidden()
        ws = web.WebSocketResponse(max_msg_size=MAX_PAGE_MESSAGE, heartbeat=None)
        await ws.prepare(request)
        page = PageConnection(ws, request, preview=request.query.get("preview") == "1")
        runtime.pages.add(page)
        try:
            await page.send(runtime.init_message())
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    continue
                if isinstance(data, dict):
                    await _on_page_message(manager, name, page, data)
        finally:
            # The runtime may have been replaced by a reload meanwhile: drop the page from whichever holds it.
            for holder in (runtime, manager.overlays.get(name)):
                if holder is not None:
                    holder.pages.discard(page)
            if page.session is not None:
                manager.ledger.detach(page.session)
        return ws

    return handler


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value and abs(value) < 1e12:
        return float(value)
    return None


async def _on_page_message(manager: OverlayManager, name: str, page: PageConnection, data: dict[str, Any]) -> None:
    """Reports from the page. Each is small and checked; anything malformed is ignored."""
    kind = data.get("type")
    ledger = manager.ledger
    if kind == "ping":
        if page.session is not None:
            page.session.last_heard = ledger.monotonic()
        await page.send({"type": "pong"})
        return
    if kind == "hello":
        session_id = data.get("session")
        if page.preview or not isinstance(session_id, str) or not 8 <= len(session_id) <= 64:
            return
        page.session = ledger.attach(name, session_id)
        await page.send({"type": "welcome", "seq": page.session.last_seq})
        return
    session = page.session
    seq = _int(data.get("seq"))
    if session is None or seq is None or kind not in ("start", "stop", "sync"):
        return
    if not ledger.accept(session, seq):
        await page.send({"type": "ack", "seq": session.last_seq})
        return
    at = session.place(_number(data.get("t")), ledger.monotonic())
    runtime = manager.overlays.get(name)
    known = runtime.known_items() if runtime is not None else set()
    if kind == "sync":
        showing = data.get("showing")
        items = {i for i in showing if isinstance(i, str)} if isinstance(showing, list) else set()
        ledger.sync(session, items, known, at)
    else:
        item = data.get("item")
        if isinstance(item, str):
            if kind == "start" and item in known:
                ledger.start(session, item, at)
            elif kind == "stop":
                ledger.stop(session, item, at)
    await page.send({"type": "ack", "seq": seq})


# -- owner API -------------------------------------------------------------------------------------


def _list(manager: OverlayManager) -> Any:
    async def handler(request: web.Request) -> web.Response:
        out = []
        for runtime in manager.overlays.values():
            manifest = runtime.manifest
            out.append(
                {
                    "name": runtime.name,
                    "title": manifest.title if manifest else runtime.name,
                    "enabled": bool(manifest and manifest.enabled),
                    "error": runtime.error,
                    "warnings": [str(w) for w in manifest.warnings] if manifest else [],
                    "canvas": {"width": manifest.width, "height": manifest.height} if manifest else None,
                    "url": manager.url(runtime),
                    "preview_url": manager.url(runtime, preview=True),
                    "pages": sum(1 for p in runtime.pages if not p.preview),
                    "previews": sum(1 for p in runtime.pages if p.preview),
                    "slots": runtime.summary(),
                }
            )
        return json_response(out)

    return handler


def _range(request: web.Request) -> tuple[str | None, str | None]:
    day_from, day_to = request.query.get("from"), request.query.get("to")
    for label, value in (("from", day_from), ("to", day_to)):
        if value is not None and not _DAY_RE.match(value):
            raise JsonError(400, f"'{label}' must be a day as YYYY-MM-DD, got {value!r}")
    return day_from, day_to


def _known(manager: OverlayManager, name: str) -> None:
    if name not in manager.overlays:
        raise JsonError(404, f"no overlay named {name!r}")


def _impressions(manager: OverlayManager) -> Any:
    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        _known(manager, name)
        day_from, day_to = _range(request)
        items = await manager.ledger.report(name, day_from, day_to)
        return json_response(
            {"overlay": name, "time_zone": str(manager.tz), "from": day_from, "to": day_to, "items": items}
        )

    return handler


def _impressions_csv(manager: OverlayManager) -> Any:
    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        _known(manager, name)
        day_from, day_to = _range(request)
        text = await manager.ledger.csv_report(name, day_from, day_to)
        return web.Response(
            text=text,
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="impressions-{name}.csv"'},
        )

    return handler
