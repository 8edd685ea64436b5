"""Serve `www/app` at `/`: the dashboard shell, its ES modules, pages and cards.

There is no build step, so file names carry no content hash: every file is sent with
`Cache-Control: no-cache` and a strong ETag (size + mtime), and the browser revalidates each with
a cheap 304. A release cannot leave a user on a stale module mixed with new ones — the failure a
long max-age without hashed names causes. Only names that look like front-end files, in known
folders, are served (no directory listing, no `..`), and the routes cannot shadow `/api`,
`/overlay`, `/health` or `/auth`.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from aiohttp import hdrs, web

WWW_APP = Path(__file__).resolve().parents[2] / "www" / "app"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".md": "text/markdown; charset=utf-8",
}
SUBFOLDERS = ("pages", "cards", "lib", "vendor", "icons")
_EXT = "|".join(e.lstrip(".") for e in CONTENT_TYPES)
ROUTE = r"/{path:(?:(?:" + "|".join(SUBFOLDERS) + r")/)?[A-Za-z0-9_][A-Za-z0-9_.-]*\.(?:" + _EXT + ")}"

# The shell loads only its own modules; frames only for same-origin overlay previews.
SHELL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:;"
    " media-src 'self' blob:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'self'; object-src 'none'"
)


def _etag(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.blake2s(f"{stat.st_size}:{stat.st_mtime_ns}".encode(), digest_size=8).hexdigest()
    return f'"{digest}"'


def _serve(path: Path, request: web.Request) -> web.StreamResponse:
    try:
        etag = _etag(path)
    except OSError:
        raise web.HTTPNotFound(text=f"{request.path} not found") from None
    headers = {hdrs.ETAG: etag, hdrs.CACHE_CONTROL: "no-cache", "Referrer-Policy": "no-referrer"}
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = SHELL_CSP
        headers["X-Frame-Options"] = "DENY"
    if etag in request.headers.get(hdrs.IF_NONE_MATCH, ""):
        return web.Response(status=304, headers=headers)
    content_type = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return web.Response(body=path.read_bytes(), headers={**headers, hdrs.CONTENT_TYPE: content_type})


def register_static_routes(app: web.Application, root: Path = WWW_APP) -> None:
    """`/` → index.html and `/<file>`, `/pages/<file>`, `/cards/<file>`... from `root`."""
    root = root.resolve()

    async def index(request: web.Request) -> web.StreamResponse:
        return _serve(root / "index.html", request)

    async def file(request: web.Request) -> web.StreamResponse:
        relative = request.match_info["path"]
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise web.HTTPNotFound(text=f"{request.path} not found")
        return _serve(path, request)

    app.router.add_get("/", index)
    app.router.add_get(ROUTE, file)
