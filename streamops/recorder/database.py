"""The one SQLite database (WAL) every component shares, and its versioned migrations.

One aiosqlite connection serialises all access on its thread; a lock keeps a multi-statement
transaction from interleaving with another coroutine's writes. `execute` commits at once (journal
writes must survive `kill -9`); bulk history goes through `executemany` in one transaction.
Rows come back as `sqlite3.Row`: read them by column name, never by position.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

_LOGGER = logging.getLogger(__name__)

_MIGRATION_RE = re.compile(r"^(\d+)_[\w-]+\.sql$")


class MigrationError(Exception):
    pass


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            # NORMAL in WAL mode survives a process kill; only a power cut can lose the last commits.
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
        ):
            await self._conn.execute(pragma)

    async def close(self) -> None:
        if self._conn is not None:
            async with self._lock:
                try:
                    await self._conn.execute("PRAGMA optimize")
                finally:
                    await self._conn.close()
                    self._conn = None

    # -- queries ---------------------------------------------------------------------------------
    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement and commit; returns lastrowid (or rowcount for UPDATE/DELETE)."""
        async with self._lock:
            cursor = await self.conn.execute(sql, params)
            result = cursor.lastrowid if sql.lstrip()[:6].upper() in ("INSERT", "REPLAC") else cursor.rowcount
            await cursor.close()
            return int(result or 0)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                await self.conn.executemany(sql, rows)
                await self.conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            cursor = await self.conn.execute(sql, params)
            rows = await cursor.fetchall()
            await cursor.close()
            return list(rows)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        async with self._lock:
            cursor = await self.conn.execute(sql, params)
            row = await cursor.fetchone()
            await cursor.close()
            return row

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several statements committed together (or not at all)."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                await self.conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        """Roll back if a transaction is still open (a failed COMMIT leaves one open; a cancelled one
        may already have committed), so the shared connection is never left inside a transaction."""
        try:
            await self.conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # no transaction active

    # -- migrations ------------------------------------------------------------------------------
    async def migrate(self, sources: Iterable[tuple[str, Path]]) -> list[str]:
        """Apply every `NNN_name.sql` not yet applied, per component, in order; returns what ran.

        Each file runs in its own transaction, so a failing migration leaves the database as it was
        before that file and the error names the file.
        """
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS so_schema (component TEXT NOT NULL, version INTEGER NOT NULL,"
            " name TEXT NOT NULL, applied_at REAL NOT NULL, PRIMARY KEY (component, version))"
        )
        applied_rows = await self.fetchall("SELECT component, version FROM so_schema")
        applied = {(row["component"], row["version"]) for row in applied_rows}
        ran: list[str] = []
        for component, folder in sources:
            for path in sorted(folder.glob("*.sql")):
                match = _MIGRATION_RE.match(path.name)
                if not match:
                    continue
                version = int(match.group(1))
                if (component, version) in applied:
                    continue
                sql = path.read_text(encoding="utf-8")
                async with self._lock:
                    try:
                        # executescript commits first; wrap the file in its own transaction.
                        await self.conn.executescript(
                            f"BEGIN;\n{sql}\n;INSERT INTO so_schema VALUES ('{component}', {version},"
                            f" '{path.name}', {time.time()});\nCOMMIT;"
                        )
                    except sqlite3.Error as err:
                        if self.conn.in_transaction:
                            await self.conn.execute("ROLLBACK")
                        raise MigrationError(f"migration {component}/{path.name} failed: {err}") from err
                ran.append(f"{component}/{path.name}")
                _LOGGER.info("Applied migration %s/%s", component, path.name)
        return ran
