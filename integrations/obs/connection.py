"""Keeping one OBS connected: connect, authenticate, and reconnect with backoff, forever.

OBS is closed and opened all day long; that is normal life, not an error. So each change of
connection status is logged once (connected → unreachable → auth failed ...), never once per
attempt, and the attempts back off from 1 s to `reconnect_max`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from .protocol import (
    CLOSE_AUTHENTICATION_FAILED,
    CLOSE_SESSION_INVALIDATED,
    EventCallback,
    ObsAuthError,
    ObsConnectionError,
    ObsError,
    ObsWebSocket,
    describe_close,
)

_LOGGER = logging.getLogger(__name__)

INITIAL_BACKOFF = 1.0
# A connection that stayed up this long resets the backoff (a crash loop keeps backing off).
STABLE_AFTER = 10.0


class Status(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    KICKED = "kicked"
    STOPPED = "stopped"


class ObsConnection:
    """Owns the reconnect loop of one OBS; hands each fresh connection to `on_connected`."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        password: str,
        *,
        timeout: float,
        reconnect_max: float,
        on_event: EventCallback,
        on_connected: Callable[[ObsWebSocket], Awaitable[None]],
        on_status: Callable[[Status, str | None], None],
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._password = password
        self.timeout = timeout
        self.reconnect_max = reconnect_max
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_status = on_status
        self.ws: ObsWebSocket | None = None
        self.status = Status.CONNECTING
        self.error: str | None = None
        self.attempts = 0
        self.next_attempt: float | None = None
        self._logged_status: Status | None = None
        self._wake = asyncio.Event()

    @property
    def where(self) -> str:
        return f"OBS {self.name!r} at {self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed.done()

    def reconnect_now(self) -> None:
        """Skip the backoff wait (service obs.reconnect; also the only way out of a kick)."""
        self._wake.set()
        if self.ws is not None and not self.ws.closed.done():
            asyncio.get_running_loop().create_task(self.ws.close())

    async def run(self) -> None:
        """The reconnect loop; runs until cancelled (hub stop)."""
        backoff = INITIAL_BACKOFF
        try:
            while True:
                self.attempts += 1
                self._wake.clear()
                self._set_status(Status.CONNECTING, self.error, log=False)
                connected_at: float | None = None
                close_code: int | None = None
                try:
                    ws = await ObsWebSocket.connect(
                        self.host, self.port, self._password, self._on_event, timeout=self.timeout
                    )
                    self.ws = ws
                    connected_at = time.monotonic()
                    try:
                        await self._on_connected(ws)
                    except ObsError as err:
                        # The first queries failed (OBS still loading, or closing): try again later.
                        await ws.close()
                        raise ObsConnectionError(f"{self.where} connected but did not answer: {err}") from err
                    self._set_status(Status.CONNECTED, None)
                    close_code = await ws.closed
                    self.ws = None
                    if close_code == CLOSE_SESSION_INVALIDATED:
                        raise _Kicked()
                    if close_code == CLOSE_AUTHENTICATION_FAILED:
                        raise ObsAuthError(f"{self.where} ended the session (4009 AuthenticationFailed)")
                    raise ObsConnectionError(f"{self.where} {describe_close(close_code)} (OBS closed?)")
                except _Kicked:
                    self._set_status(
                        Status.KICKED,
                        f"{self.where} kicked this session (4011 SessionInvalidated); not reconnecting "
                        "until the obs.reconnect service is called",
                    )
                    self._wake.clear()
                    self.next_attempt = None
                    await self._wake.wait()
                    backoff = INITIAL_BACKOFF
                    continue
                except ObsAuthError as err:
                    _raise_if_cancelling()
                    self._set_status(Status.AUTH_FAILED, str(err))
                except ObsConnectionError as err:
                    _raise_if_cancelling()
                    self._set_status(Status.UNREACHABLE, str(err))
                finally:
                    self.ws = None
                if connected_at is not None and time.monotonic() - connected_at > STABLE_AFTER:
                    backoff = INITIAL_BACKOFF
                delay = backoff
                backoff = min(backoff * 2, self.reconnect_max)
                self.next_attempt = time.time() + delay
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                    backoff = INITIAL_BACKOFF
                except TimeoutError:
                    pass
        finally:
            if self.ws is not None:
                ws, self.ws = self.ws, None
                await asyncio.shield(ws.close())
            self._set_status(Status.STOPPED, None, log=False)

    def _set_status(self, status: Status, error: str | None, *, log: bool = True) -> None:
        previous = self.status
        self.status = status
        self.error = error
        if log and status != self._logged_status:
            self._logged_status = status
            self._log(status, error, previous)
        try:
            self._on_status(status, error)
        except Exception:
            _LOGGER.exception("Error updating entities for %s", self.where)

    def _log(self, status: Status, error: str | None, previous: Status) -> None:
        if status == Status.CONNECTED:
            _LOGGER.info("Connected to %s", self.where)
        elif status == Status.AUTH_FAILED:
            _LOGGER.error("%s; retrying every %g s at most", error, self.reconnect_max)
        elif status == Status.KICKED:
            _LOGGER.warning("%s", error)
        elif status == Status.UNREACHABLE:
            _LOGGER.warning(
                "%s: %s; entities are unavailable and StreamOps keeps trying in the background "
                "(every %g s at most; logged again only when this changes)",
                "Lost " + self.where if previous == Status.CONNECTED else "No connection to " + self.where,
                error,
                self.reconnect_max,
            )

    def as_attributes(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "error": self.error,
            "host": self.host,
            "port": self.port,
            "attempts": self.attempts,
        }


class _Kicked(Exception):
    pass


def _raise_if_cancelling() -> None:
    """A library that turns our cancellation into its own error must not keep the loop alive."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
