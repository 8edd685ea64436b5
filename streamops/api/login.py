"""The login link: `/auth/login?token=...` swaps a token for a session cookie; `/auth/logout` ends it.

The cookie holds a fresh session secret, never the token, and is HttpOnly (scripts cannot read it)
and SameSite=Strict (other sites cannot make the browser send it). The link is GET so it can be
clicked from the console; everything it does is harmless if replayed (it only opens a session).
"""

from __future__ import annotations

from aiohttp import web

from .auth import SESSION_MAX_AGE, create_session, end_session, validate_token
from .helpers import JsonError, json_response
from .security import SESSION_COOKIE

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: '/x' yes, '//evil.example' or 'http://...' no."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def login(request: web.Request) -> web.StreamResponse:
    from .server import SERVER_APP_KEY

    server = request.app[SERVER_APP_KEY]
    token = request.query.get("token", "")
    row = await validate_token(server.db, token) if token else None
    if row is None:
        raise JsonError(401, "invalid or revoked login token: create a new one with `streamops token create NAME`")
    secret = await create_session(server.db, row)
    response = web.HTTPFound(_safe_next(request.query.get("next")), headers=_NO_STORE)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=SESSION_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    from .server import SERVER_APP_KEY

    server = request.app[SERVER_APP_KEY]
    await end_session(server.db, request.cookies.get(SESSION_COOKIE, ""))
    response = json_response({"message": "Logged out."})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def register_login_routes(app: web.Application) -> None:
    app.router.add_get("/auth/login", login)
    app.router.add_post("/auth/logout", logout)
