"""Per-overlay read-only keys: derived, revocable, stored only as a hash.

An overlay URL goes into OBS and may end up in a screenshot or a shared scene collection, so it
must never carry the admin token, and a leaked one must be revocable on its own. The key is
HMAC-SHA256(secret, "overlay:<name>:<generation>"), where the secret is a file in the data dir
(mode 0600) and the generation is in `so_overlays`. The database holds only SHA-256(key): a copy
of the database hands out nothing, yet the hub can still show the browser-source URL to the
logged-in owner (it re-derives the key). `overlay.rotate_key` bumps the generation: the old URL
stops working at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

KEY_LENGTH = 32


def load_or_create_secret(path: Path) -> bytes:
    """The data dir's overlay key secret (created on first use, readable by the owner only)."""
    try:
        text = path.read_text(encoding="ascii").strip()
        if len(text) >= 64:
            return bytes.fromhex(text)
        _LOGGER.warning("Overlay key secret %s is malformed; creating a new one (overlay URLs change)", path)
    except FileNotFoundError:
        pass
    except ValueError:
        _LOGGER.warning("Overlay key secret %s is malformed; creating a new one (overlay URLs change)", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value.hex())
    os.replace(tmp, path)
    return value


def derive_key(secret: bytes, name: str, generation: int) -> str:
    digest = hmac.new(secret, f"overlay:{name}:{generation}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:KEY_LENGTH]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def key_matches(given: str | None, expected_hash: str | None) -> bool:
    """Constant-time check of a key from a URL against the stored hash."""
    if not given or not expected_hash or len(given) > 256:
        return False
    return hmac.compare_digest(hash_key(given), expected_hash)
