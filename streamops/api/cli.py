"""`streamops token create NAME | list | revoke ID`: manage API tokens offline, on the database file.

Works whether or not the hub is running (SQLite WAL lets both use the file); a revoked token stops
working on the running hub at its next request, because the hub does not cache tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..recorder.database import Database, MigrationError
from .auth import KIND_OWNER, KIND_USER, create_token, list_tokens, revoke_token


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("token", help="create, list and revoke API tokens")
    # SUPPRESS: a --data given to the main parser is kept, not overwritten with None.
    parser.add_argument(
        "--data", default=argparse.SUPPRESS, help="data directory, as for `streamops run` (default: $STREAMOPS_DATA)"
    )
    parser.add_argument("--db", default=argparse.SUPPRESS, help="database file ($DB_PATH or DATA/db/streamops.db)")
    actions = parser.add_subparsers(dest="token_action", metavar="ACTION")
    actions.required = True
    create = actions.add_parser("create", help="create a token (printed once)")
    create.add_argument("name", help="what the token is for, e.g. 'stream deck'")
    create.add_argument("--owner", action="store_true", help="make it an owner token")
    create.set_defaults(func=_cmd_create)
    listing = actions.add_parser("list", help="list tokens (never their values: only hashes are stored)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.set_defaults(func=_cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a token and the browser sessions it opened")
    revoke.add_argument("id", type=int, help="token id from `streamops token list`")
    revoke.set_defaults(func=_cmd_revoke)


async def _open(args: argparse.Namespace) -> Database:
    """Open (and migrate) the database the hub uses, without starting a hub."""
    from ..bootstrap import default_data_dir
    from ..core import Hub
    from ..recorder import async_open_database

    # The same default as `streamops run`, so tokens land in the database the hub reads.
    data_dir = Path(getattr(args, "data", None) or default_data_dir())
    db_path = getattr(args, "db", None) or os.environ.get("DB_PATH")
    hub = Hub(tempfile.gettempdir(), data_dir)
    return await async_open_database(hub, {"db_path": db_path} if db_path else {})


def _run(args: argparse.Namespace, action: Callable[[Database], Awaitable[int]]) -> int:
    async def main() -> int:
        try:
            db = await _open(args)
        except (MigrationError, sqlite3.Error, OSError) as err:
            print(f"error: cannot open the database: {err}", file=sys.stderr)
            return 1
        try:
            return await action(db)
        except sqlite3.OperationalError as err:
            print(
                f"error: {err} (is the database from an older StreamOps? run the hub once to migrate)", file=sys.stderr
            )
            return 1
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        finally:
            await db.close()

    return asyncio.run(main())


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M") if timestamp else "never"


def _cmd_create(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        token = await create_token(db, args.name, KIND_OWNER if args.owner else KIND_USER)
        print(token)
        print(
            "Token created; it is shown only this once. Use it as 'Authorization: Bearer <token>', as a Home"
            " Assistant access token, or log in with http://127.0.0.1:7767/auth/login?token=<token>"
            " (your configured host and port).",
            file=sys.stderr,
        )
        return 0

    return _run(args, action)


def _cmd_list(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        rows = await list_tokens(db, include_revoked=args.all)
        if not rows:
            print("no tokens", file=sys.stderr)
            return 0
        table: list[Sequence[Any]] = [("ID", "NAME", "KIND", "CREATED", "LAST USED", "")]
        for row in rows:
            table.append(
                (
                    row["id"],
                    row["name"],
                    row["kind"],
                    _when(row["created"]),
                    _when(row["last_used"]),
                    "revoked" if row["revoked"] else "",
                )
            )
        widths = [max(len(str(line[i])) for line in table) for i in range(len(table[0]))]
        for line in table:
            print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        return 0

    return _run(args, action)


def _cmd_revoke(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        if await revoke_token(db, args.id):
            print(f"revoked token {args.id}")
            return 0
        print(f"error: no active token with id {args.id} (see `streamops token list`)", file=sys.stderr)
        return 1

    return _run(args, action)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (`python -m streamops.api.cli token ...`) until the main CLI dispatches."""
    parser = argparse.ArgumentParser(prog="streamops")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
