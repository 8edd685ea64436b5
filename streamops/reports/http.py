"""`GET /api/reports` (newest first, with a summary each) and `GET /api/reports/{id}` (the whole report).

The http component's middleware enforces the token on /api/*; these handlers only validate input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..api.helpers import JsonError, json_response

if TYPE_CHECKING:
    from . import ReportStore


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise JsonError(400, f"query parameter {name} must be an integer, got {raw!r}", "invalid_format") from None
    if not low <= value <= high:
        raise JsonError(400, f"query parameter {name} must be between {low} and {high}", "invalid_format")
    return value


def add_routes(app: web.Application, store: ReportStore) -> None:
    async def list_reports(request: web.Request) -> web.Response:
        unknown = sorted(set(request.query) - {"kind", "limit", "offset"})
        if unknown:
            raise JsonError(400, f"unknown query parameter {', '.join(unknown)} (known: kind, limit, offset)")
        limit = _int(request, "limit", 20, 1, 500)
        offset = _int(request, "offset", 0, 0, 2**31)
        return json_response(await store.list(request.query.get("kind") or None, limit, offset))

    async def get_report(request: web.Request) -> web.Response:
        raw = request.match_info["report_id"]
        report = await store.get(int(raw))
        if report is None:
            raise JsonError(404, f"no report with id {raw}", "not_found")
        return json_response(report)

    app.router.add_get("/api/reports", list_reports)
    app.router.add_get(r"/api/reports/{report_id:\d+}", get_report)
