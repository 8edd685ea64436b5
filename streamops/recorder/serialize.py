"""JSON for history rows: anything an integration puts in attributes or event data must be storable.

History must never fail because an attribute holds a Path, a datetime or a State: such values are
stored as their `as_dict()`, ISO text or `str()`. What comes back is plain JSON (so a restored
attribute that was a Path is a string) — the price of never losing a row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_MAX_DEPTH = 32


def json_default(value: Any) -> Any:
    """Fallback for values json cannot encode: as_dict(), mappings, sets, ISO dates, else str()."""
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_ENCODER = json.JSONEncoder(default=json_default, separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Encode for a history row; never raises (non-string keys and cycles are made safe)."""
    try:
        return _ENCODER.encode(value)
    except Exception:
        # Keys json refuses (tuples, objects), a reference cycle, or an object whose as_dict()/str()
        # raises: rebuild a plain, acyclic copy, value by value.
        pass
    try:
        return _ENCODER.encode(_plain(value, 0, set()))
    except Exception as err:
        return _ENCODER.encode({"unserialisable": f"{type(value).__name__}: {type(err).__name__}"})


def _plain(value: Any, depth: int, seen: set[int]) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if depth >= _MAX_DEPTH or id(value) in seen:
        return str(value) if depth >= _MAX_DEPTH else "<cycle>"
    seen = seen | {id(value)}
    if isinstance(value, Mapping):
        return {_key(k): _plain(v, depth + 1, seen) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, depth + 1, seen) for v in value]
    try:
        converted = json_default(value)
    except Exception as err:
        return f"<unserialisable {type(value).__name__}: {type(err).__name__}>"
    if isinstance(converted, str):
        return converted
    return _plain(converted, depth + 1, seen)


def _key(key: Any) -> str | int | float | bool | None:
    return key if key is None or isinstance(key, str | int | float | bool) else str(key)


def dumps_strict(value: Any, what: str) -> str:
    """Encode a value the user will read back as is (settings): refuse what is not plain JSON."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}: value is not JSON-serialisable ({err})") from err


def loads(text: str | None, default: Any = None) -> Any:
    """Decode a JSON column; NULL gives `default`."""
    if text is None:
        return default
    return json.loads(text)
