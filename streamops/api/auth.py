"""Access tokens and browser sessions, stored only as SHA-256 hashes in `so_tokens`.

A token is shown once (when created) and never stored in clear: the database holds its SHA-256,
so a copy of the database or a backup does not hand out access. Lookups go by hash (indexed,
UNIQUE) and the stored hash is then compared with `hmac.compare_digest`.

Browser sessions live in the same table with `kind = 'session'`: the login link's token is
exchanged for a fresh random session secret (the cookie never holds the token itself). A session's
`name` is `session:<token id>:<token name>`, which ties it to the token that opened it, so revoking
the token also ends its sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass

from ..core import Context
from ..recorder.database import Database

KIND_OWNER = "owner"
KIND_USER = "user"
KIND_SESSION = "session"
TOKEN_KINDS = (KIND_OWNER, KIND_USER)

SESSION_MAX_AGE = 30 * 24 * 3600
# last_used is a convenience for `token list`; writing it on every request would put a database
# write on the hot path, so it is refreshed at most this often.
LAST_USED_RESOLUTION = 60.0
_MAX_SECRET_LEN = 512
_MAX_NAME_LEN = 100


@dataclass(frozen=True, slots=True)
class AuthInfo:
    """Who made a request: the token (or the token behind a browser session)."""

    token_id: int
    name: str
    kind: str
    via: str  # "bearer", "cookie" or "websocket"

    @property
    def is_owner(self) -> bool:
        return self.kind == KIND_OWNER

    def context(self) -> Context:
        """A Context whose user_id names the token, so traces show who caused a change."""
        return Context(user_id=f"token:{self.token_id}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValueError("token name must not be empty")
    if len(name) > _MAX_NAME_LEN:
        raise ValueError(f"token name longer than {_MAX_NAME_LEN} characters")
    if name.startswith("session:"):
        raise ValueError("token names starting with 'session:' are reserved for browser sessions")
    return name


async def create_token(db: Database, name: str, kind: str = KIND_USER) -> str:
    """Create a token and return it in clear — the only time it can be seen."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"token kind must be one of {', '.join(TOKEN_KINDS)}, not {kind!r}")
    token = secrets.token_urlsafe(32)
    await db.execute(
        "INSERT INTO so_tokens (name, token_hash, kind, created) VALUES (?, ?, ?, ?)",
        (_check_name(name), hash_secret(token), kind, time.time()),
    )
    return token


async def _lookup(db: Database, secret: str, kinds: tuple[str, ...]) -> sqlite3.Row | None:
    if not isinstance(secret, str) or not secret or len(secret) > _MAX_SECRET_LEN:
        return None
    digest = hash_secret(secret)
    row = await db.fetchone(
        "SELECT id, name, token_hash, kind, created, last_used, revoked FROM so_tokens WHERE token_hash = ?",
        (digest,),
    )
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    if row["revoked"] or row["kind"] not in kinds:
        return None
    now = time.time()
    if row["last_used"] is None or now - row["last_used"] > LAST_USED_RESOLUTION:
        await db.execute("UPDATE so_tokens SET last_used = ? WHERE id = ?", (now, row["id"]))
    return row


async def validate_token(db: Database, token: str) -> sqlite3.Row | None:
    """The token's row when it is a valid, unrevoked owner/user token; None otherwise."""
    return await _lookup(db, token, TOKEN_KINDS)


async def revoke_token(db: Database, token_id: int) -> bool:
    """Revoke a token (and every browser session it opened); False when no such live token exists."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE so_tokens SET revoked = 1 WHERE id = ? AND revoked = 0 AND kind != ?", (token_id, KIND_SESSION)
        )
        changed = cursor.rowcount
        await cursor.close()
        cursor = await conn.execute(
            "UPDATE so_tokens SET revoked = 1 WHERE kind = ? AND name LIKE ?", (KIND_SESSION, f"session:{token_id}:%")
        )
        await cursor.close()
    return changed > 0


async def list_tokens(db: Database, include_revoked: bool = False) -> list[sqlite3.Row]:
    """Owner and user tokens (never their hashes' plaintext, which is not stored)."""
    sql = "SELECT id, name, kind, created, last_used, revoked FROM so_tokens WHERE kind != ?"
    if not include_revoked:
        sql += " AND revoked = 0"
    return await db.fetchall(sql + " ORDER BY id", (KIND_SESSION,))


async def has_owner_token(db: Database) -> bool:
    row = await db.fetchone("SELECT id FROM so_tokens WHERE kind = ? AND revoked = 0 LIMIT 1", (KIND_OWNER,))
    return row is not None


async def ensure_owner_token(db: Database) -> str | None:
    """First run: create the owner token and return it in clear; None when one already exists."""
    if await has_owner_token(db):
        return None
    return await create_token(db, "owner", KIND_OWNER)


# -- browser sessions --------------------------------------------------------------------------
async def create_session(db: Database, token_row: sqlite3.Row) -> str:
    """A new session secret for the cookie, tied to the token that logged in."""
    secret = secrets.token_urlsafe(32)
    name = f"session:{token_row['id']}:{token_row['name']}"[:200]
    await db.execute(
        "INSERT INTO so_tokens (name, token_hash, kind, created) VALUES (?, ?, ?, ?)",
        (name, hash_secret(secret), KIND_SESSION, time.time()),
    )
    return secret


async def validate_session(db: Database, secret: str) -> AuthInfo | None:
    """The identity behind a session cookie, or None (unknown, revoked or older than 30 days)."""
    row = await _lookup(db, secret, (KIND_SESSION,))
    if row is None or time.time() - row["created"] > SESSION_MAX_AGE:
        return None
    token_id = [*row["name"].split(":", 2), "", ""][1]
    parent = await db.fetchone(
        "SELECT id, name, kind, revoked FROM so_tokens WHERE id = ?", (int(token_id) if token_id.isdigit() else -1,)
    )
    if parent is None or parent["revoked"]:
        return None
    return AuthInfo(parent["id"], parent["name"], parent["kind"], "cookie")


async def end_session(db: Database, secret: str) -> None:
    if isinstance(secret, str) and secret:
        await db.execute(
            "UPDATE so_tokens SET revoked = 1 WHERE token_hash = ? AND kind = ?", (hash_secret(secret), KIND_SESSION)
        )


async def purge_expired_sessions(db: Database) -> int:
    """Drop sessions past their age or revoked, so the table does not grow with every login."""
    return await db.execute(
        "DELETE FROM so_tokens WHERE kind = ? AND (revoked = 1 OR created < ?)",
        (KIND_SESSION, time.time() - SESSION_MAX_AGE),
    )


def auth_info(row: sqlite3.Row, via: str) -> AuthInfo:
    return AuthInfo(row["id"], row["name"], row["kind"], via)
