"""HttpServer: the aiohttp application every component adds routes to, and its listening socket.

Life cycle: `async_setup` builds the app and *binds* the port at once (so "address in use" fails
the http setup with a clear message, and port 0 gives tests a free port known before start);
components add routes during their own setup; the `hub.async_on_start` hook freezes the router
and starts serving on the bound sockets; `async_on_stop` closes WebSocket clients and the server.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
import time
from typing import Any

from aiohttp import WSCloseCode, hdrs, web

from .. import __version__
from ..core import MATCH_ALL, Hub
from ..recorder.database import Database
from .auth import ensure_owner_token, purge_expired_sessions
from .health import register_health_routes
from .helpers import MAX_JSON_BYTES
from .login import register_login_routes
from .metrics import EventCounter, MetricsRegistry
from .rest import register_rest_routes
from .security import LOCAL_HOSTS, build_middlewares, origin_netloc, split_host
from .websocket_api import ActiveConnection, websocket_handler

_LOGGER = logging.getLogger(__name__)

HUB_APP_KEY = web.AppKey("streamops_hub", Hub)
SERVER_APP_KEY: web.AppKey[HttpServer] = web.AppKey("streamops_http_server")

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "*"})


class HttpServerError(Exception):
    """The server cannot listen (port in use, address not on this machine, ...)."""


class HttpServer:
    """The hub's HTTP server. Add routes to `app.router` during setup; auth is already enforced."""

    def __init__(self, hub: Hub, db: Database, config: dict[str, Any]) -> None:
        self.hub = hub
        self.db = db
        self.config = config
        self.started_at = time.time()
        self.metrics = MetricsRegistry()
        self.events = EventCounter()
        self.ws_connections: set[ActiveConnection] = set()
        self.ws_cut_off = 0
        # Paths under these prefixes need a token; `public_paths` are exceptions (exact paths).
        self.protected_prefixes: list[str] = ["/api", "/metrics"]
        self.public_paths: set[str] = {"/api/websocket"}
        self._trusted_hosts = {h.lower() for h in config["trusted_hosts"]}
        self._cors_origins = {o.rstrip("/").lower() for o in config["cors_allowed_origins"]}
        self._sockets: list[socket.socket] = []
        self._runner: web.AppRunner | None = None
        self._unsub_events: Any = None
        self.port: int = config["server_port"]
        self.app = web.Application(middlewares=build_middlewares(self), client_max_size=MAX_JSON_BYTES)
        self.app[HUB_APP_KEY] = hub
        self.app[SERVER_APP_KEY] = self
        self.app.on_response_prepare.append(self._on_response_prepare)
        register_rest_routes(self.app)
        register_health_routes(self.app)
        register_login_routes(self.app)
        self.app.router.add_get("/api/websocket", websocket_handler)
        self._register_builtin_metrics()

    # -- access policy ---------------------------------------------------------------------------
    def needs_auth(self, path: str) -> bool:
        if path in self.public_paths:
            return False
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.protected_prefixes)

    def require_auth(self, prefix: str) -> None:
        """Protect another path prefix with the token check (e.g. '/dashboard/data')."""
        self.protected_prefixes.append(prefix.rstrip("/"))

    def allow_anonymous(self, path: str) -> None:
        """Exempt one exact path under a protected prefix (it must do its own checks, if any)."""
        self.public_paths.add(path)

    def is_allowed_host(self, host_header: str) -> bool:
        """Local names on any port (Docker may map the port), the bound address, trusted hosts."""
        if not host_header:
            return False
        if "*" in self._trusted_hosts:
            return True
        name, port = split_host(host_header)
        if port == -1:
            return False
        if name in LOCAL_HOSTS or name in self._trusted_hosts or host_header.lower() in self._trusted_hosts:
            return True
        bind = self.config["server_host"].lower()
        return bind not in WILDCARD_HOSTS and name in (bind, f"[{bind}]")

    def is_same_origin(self, origin: str, host_header: str) -> bool:
        """Origin names the host the request was sent to (scheme ignored: a TLS proxy may front us)."""
        parsed = origin_netloc(origin)
        if parsed is None or not host_header:
            return False
        name, port = split_host(host_header)
        if port is None:
            return parsed[0] == name and parsed[1] in (80, 443)
        return parsed == (name, port)

    def is_cors_origin(self, origin: str) -> bool:
        return origin.rstrip("/").lower() in self._cors_origins

    def cors_headers(self, origin: str, preflight: bool = False) -> dict[str, str]:
        headers = {hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin, hdrs.VARY: "Origin"}
        if preflight:
            headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = "GET, POST, PUT, PATCH, DELETE"
            headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = "Authorization, Content-Type"
            headers[hdrs.ACCESS_CONTROL_MAX_AGE] = "600"
        return headers

    async def _on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get(hdrs.ORIGIN)
        if (
            origin is not None
            and self.is_cors_origin(origin)
            and hdrs.ACCESS_CONTROL_ALLOW_ORIGIN not in response.headers
        ):
            response.headers.update(self.cors_headers(origin))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")

    # -- metrics ---------------------------------------------------------------------------------
    def _register_builtin_metrics(self) -> None:
        hub = self.hub
        self.metrics.gauge("streamops_info", "StreamOps version", lambda: {__version__: 1}, labels=("version",))
        self.metrics.gauge("streamops_uptime_seconds", "Seconds since the HTTP server was set up", self._uptime)
        self.metrics.counter(
            "streamops_events_total",
            "Events fired on the bus, by type",
            lambda: dict(self.events.counts),
            labels=("event_type",),
        )
        self.metrics.gauge("streamops_states", "Entities in the state machine", lambda: len(hub.states))
        self.metrics.gauge(
            "streamops_states_by_domain", "Entities by domain", self._states_by_domain, labels=("domain",)
        )
        self.metrics.gauge(
            "streamops_websocket_clients", "Connected WebSocket clients", lambda: len(self.ws_connections)
        )
        self.metrics.counter(
            "streamops_websocket_cut_off_total",
            "WebSocket clients disconnected for reading too slowly",
            lambda: self.ws_cut_off,
        )
        self.metrics.gauge("streamops_safe_mode", "1 when running in safe mode", lambda: int(hub.config.safe_mode))

    def _uptime(self) -> float:
        return round(time.time() - self.started_at, 3)

    def _states_by_domain(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.hub.states.async_all():
            counts[state.domain] = counts.get(state.domain, 0) + 1
        return counts

    # -- life cycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = self.config["server_host"]
        if host in WILDCARD_HOSTS:
            host = "127.0.0.1"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def bind(self) -> None:
        """Open the listening socket(s) now; raises HttpServerError with the cause."""
        host, port = self.config["server_host"], self.config["server_port"]
        try:
            infos = socket.getaddrinfo(
                None if host in ("", "*") else host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as err:
            raise HttpServerError(f"cannot resolve http: server_host {host!r}: {err}") from err
        seen: set[tuple[Any, ...]] = set()
        try:
            for family, kind, proto, _, address in infos:
                if address in seen:
                    continue
                seen.add(address)
                sock = socket.socket(family, kind, proto)
                self._sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(128)
                sock.setblocking(False)
                if port == 0 and len(self._sockets) == 1:
                    # One ephemeral port for all addresses of the name (the first one chooses it).
                    port = sock.getsockname()[1]
                    infos = [(f, k, p, c, (a[0], port, *a[2:])) for f, k, p, c, a in infos]
        except OSError as err:
            self.close_sockets()
            if err.errno == errno.EADDRINUSE:
                raise HttpServerError(
                    f"cannot listen on {host}:{port}: the port is already in use (another StreamOps or other"
                    " program?); stop it or set http: server_port"
                ) from err
            if err.errno == errno.EADDRNOTAVAIL:
                raise HttpServerError(
                    f"cannot listen on {host}:{port}: that address is not on this machine (http: server_host)"
                ) from err
            raise HttpServerError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
        self.port = self._sockets[0].getsockname()[1]

    def close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()

    async def async_start(self) -> None:
        """Freeze the routes and serve; prints the first-run login link once the port answers."""
        self._unsub_events = self.hub.bus.async_listen(MATCH_ALL, self.events)
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        for sock in self._sockets:
            await web.SockSite(runner, sock).start()
        self._runner = runner
        _LOGGER.info("HTTP API listening on %s", self.url)
        try:
            await purge_expired_sessions(self.db)
            token = await ensure_owner_token(self.db)
        except Exception:
            _LOGGER.exception("Could not check for an owner token (is the so_tokens table missing?)")
            return
        if token is not None:
            link = f"{self.url}/auth/login?token={token}"
            # The token goes to the console only: the JSON log under <data>/logs is kept and shipped,
            # and a login link in it would be a standing credential.
            _LOGGER.warning("First run: created the owner token; the one-time login link is printed on the console")
            print(
                f"\nStreamOps first run — open this link to log in (shown once):\n  {link}\n",
                file=sys.stdout,
                flush=True,
            )

    async def async_stop(self) -> None:
        if self._unsub_events is not None:
            self._unsub_events()
            self._unsub_events = None
        if self.ws_connections:
            await asyncio.gather(*(c.async_close(WSCloseCode.GOING_AWAY, "hub stopping") for c in self.ws_connections))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.close_sockets()
