"""Masking secrets in data that gets stored or shown (history, traces).

Service data is rendered from templates and `!secret`s: a stream key or a hook's token would
otherwise sit in plain text in SQLite history, traces, backups and the history API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "**REDACTED**"

_SENSITIVE = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|stream[_-]?key|credential|authorization|^key$|_key$)",
    re.IGNORECASE,
)


def is_sensitive(key: object) -> bool:
    return isinstance(key, str) and bool(_SENSITIVE.search(key))


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of `value` with the values of secret-looking keys replaced, at any depth."""
    if depth > 20:
        return value
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if is_sensitive(key) and item not in (None, "") else redact(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, depth + 1) for item in value]
    return value
