"""The middlewares every request passes: JSON errors, Host/Origin/CORS policy, token auth.

Order matters (outermost first):

1. `error_middleware` — every failure leaves as JSON: `JsonError` as is, aiohttp's own HTTP errors
   (404, 405, 413, ...) converted, and any unhandled exception logged and answered with a 500.
2. `policy_middleware` — DNS-rebinding and cross-site protection. A web page in the user's browser
   can reach 127.0.0.1, so loopback alone protects nothing: the Host header must name this machine
   (or a configured trusted host), and a non-GET request or WebSocket upgrade carrying a foreign
   `Origin` is refused. CORS headers go only to configured origins.
3. `auth_middleware` — `/api/*` and `/metrics` need `Authorization: Bearer <token>` or the session
   cookie set by the login link. `/api/websocket` authenticates inside the protocol instead, as
   Home Assistant's does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from yarl import URL

from .auth import AuthInfo, auth_info, validate_session, validate_token
from .helpers import json_error

if TYPE_CHECKING:
    from .server import HttpServer

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "streamops_session"
# Where the auth middleware leaves the caller's identity (request_auth() reads it).
AUTH_KEY: Any = web.RequestKey("streamops_auth", AuthInfo) if hasattr(web, "RequestKey") else "streamops_auth"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Probes from an orchestrator use the container's address as Host; these pages reveal nothing.
HOST_CHECK_EXEMPT = frozenset({"/health/live", "/health/ready"})


def split_host(host: str) -> tuple[str, int | None]:
    """'LocalHost:7767' → ('localhost', 7767); '[::1]:80' → ('[::1]', 80); no port → None."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end == -1:
            return host, None
        name, rest = host[: end + 1], host[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port_text = host.partition(":")
    if port_text:
        if not port_text.isdigit():
            return name, -1
        return name, int(port_text)
    return name, None


def origin_netloc(origin: str) -> tuple[str, int] | None:
    """'http://localhost:7767' → ('localhost', 7767); None for 'null' or anything unparsable."""
    try:
        url = URL(origin)
    except (ValueError, TypeError):
        return None
    if not url.scheme or not url.host:
        return None
    host = url.host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme, 0)
    return host, port


def _is_websocket_upgrade(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


def build_middlewares(server: HttpServer) -> list[Callable[..., Awaitable[web.StreamResponse]]]:
    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type == "application/json":
                raise
            message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
            response = json_error(exc.status, message or exc.reason)
            for name in (hdrs.ALLOW, hdrs.WWW_AUTHENTICATE, hdrs.RETRY_AFTER):
                if name in exc.headers:
                    response.headers[name] = exc.headers[name]
            return response
        except ConnectionResetError:
            raise
        except Exception as err:
            _LOGGER.exception("Unhandled error answering %s %s", request.method, request.path)
            return json_error(
                500, f"internal error ({type(err).__name__}); the hub's log has the details", "internal_error"
            )

    @web.middleware
    async def policy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in HOST_CHECK_EXEMPT and not server.is_allowed_host(request.headers.get(hdrs.HOST, "")):
            _LOGGER.warning(
                "Refused %s %s: Host %r is not this hub (DNS rebinding?); add it to http: trusted_hosts to allow it",
                request.method,
                request.path,
                request.headers.get(hdrs.HOST, ""),
            )
            return json_error(
                403, "Host header not allowed: add the name to http: trusted_hosts to reach the hub by it", "bad_host"
            )
        origin = request.headers.get(hdrs.ORIGIN)
        if request.method == "OPTIONS" and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers:
            if origin is None or not server.is_cors_origin(origin):
                return json_error(403, f"origin {origin!r} is not in http: cors_allowed_origins", "bad_origin")
            return web.Response(status=204, headers=server.cors_headers(origin, preflight=True))
        if (
            origin is not None
            and (request.method not in SAFE_METHODS or _is_websocket_upgrade(request))
            and not server.is_same_origin(origin, request.headers.get(hdrs.HOST, ""))
            and not server.is_cors_origin(origin)
        ):
            _LOGGER.warning("Refused %s %s from foreign origin %r", request.method, request.path, origin)
            return json_error(
                403,
                f"cross-origin request from {origin} refused: add it to http: cors_allowed_origins to allow it",
                "bad_origin",
            )
        return await handler(request)

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if server.needs_auth(request.path):
            info = await authenticate(server, request)
            if info is None:
                return json_error(
                    401,
                    "authentication required: send 'Authorization: Bearer <token>' or open the login link"
                    " (create a token with `streamops token create NAME`)",
                    "unauthorized",
                )
            request[AUTH_KEY] = info
        return await handler(request)

    return [error_middleware, policy_middleware, auth_middleware]


async def authenticate(server: HttpServer, request: web.Request) -> AuthInfo | None:
    """The bearer token's identity if a header is sent (a bad header is never rescued by a cookie)."""
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        row = await validate_token(server.db, token.strip())
        return auth_info(row, "bearer") if row is not None else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await validate_session(server.db, cookie)
    return None


def request_auth(request: web.Request) -> AuthInfo | None:
    """Who is calling (set by the auth middleware on protected paths)."""
    return request.get(AUTH_KEY)
