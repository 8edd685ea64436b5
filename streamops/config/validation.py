"""Run a voluptuous schema and turn its errors into `FILE:LINE: message` ConfigErrors.

voluptuous reports every problem at once (`MultipleInvalid`) with a path into the data; the loader
kept every value's place (`yaml_loader.location_of`), so each problem becomes one ConfigError at the
right file and line, with a message a streamer can act on:

- unknown option 'delays' under 'jobs' (did you mean 'delay'?)
- expected int for 'jobs.max_cpu', got str 'abc'
- required option 'path' missing under 'drives.main'     (at the parent's line)

Secret values never appear: a value that came from `!secret` is described by the secret's name,
and any secret value that slips into a message is masked.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import voluptuous as vol

from .errors import ConfigError
from .yaml_loader import Input, Location, NodeDict, NodeList, SecretStr, location_of

_EXTRA_KEYS = "extra keys not allowed"
_TYPE_WORDS = {
    "expected a dictionary": "expected a mapping",
    "expected dict": "expected a mapping",
    "expected list": "expected a list",
}
_SECRET_MASK = "***"
_MIN_SCRUB_LENGTH = 3
_MAX_SHOWN = 60


def did_you_mean(word: Any, candidates: Iterable[Any]) -> str:
    """' (did you mean 'x'?)' for the closest candidate, else ''."""
    names = [str(c) for c in candidates]
    match = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def validate(schema: Any, value: Any, *, domain: str, root: Any = None) -> tuple[Any, list[ConfigError]]:
    """Validate `value` (the data under `domain:`) with `schema`.

    Returns `(validated, [])` on success, `(None, errors)` otherwise.  `root` is the whole loaded
    configuration (so paths start at `domain`); without it, locations come from `value` alone.
    """
    compiled = schema if isinstance(schema, vol.Schema) else vol.Schema(schema)
    secrets = _secret_values(value, root)
    try:
        return compiled(value), []
    except vol.Invalid as exc:
        raw_errors = list(_flatten(exc))
    except Exception as exc:  # a validator bug must not crash check-config; report it at the section
        location = location_of(root, [domain]) if root is not None else location_of(value, [])
        message = f"could not validate '{domain}': {type(exc).__name__}: {exc}"
        return None, [ConfigError(_scrub(message, secrets), *location)]
    errors = [_convert(err, compiled, value, domain, root, secrets) for err in raw_errors]
    errors.sort(key=lambda e: (e.file or "", e.line or 0))
    return None, _unique(errors)


# --------------------------------------------------------------------------------------------------


def _flatten(exc: vol.Invalid) -> Iterator[vol.Invalid]:
    if isinstance(exc, vol.MultipleInvalid):
        for inner in exc.errors:
            yield from _flatten(inner)
    else:
        yield exc


def _unique(errors: list[ConfigError]) -> list[ConfigError]:
    seen: set[str] = set()
    result = []
    for err in errors:
        if str(err) not in seen:
            seen.add(str(err))
            result.append(err)
    return result


def _plain_path(path: Sequence[Any]) -> list[Any]:
    """voluptuous puts marker objects (Required('x')) into paths; use the key they stand for."""
    return [element.schema if isinstance(element, vol.Marker) else element for element in path]


def _secret_values(*sources: Any) -> set[str]:
    found: set[str] = set()
    for source in sources:
        found.update(getattr(source, "secret_values", ()) or ())
    return {s for s in found if len(s) >= _MIN_SCRUB_LENGTH}


def _scrub(message: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, _SECRET_MASK)
    return message


def _lookup(value: Any, path: Sequence[Any]) -> tuple[bool, Any, Any, Any]:
    """(found, parent, key, item) for `path` inside `value` (index 0 on a non-list is skipped)."""
    parent: Any = None
    key: Any = None
    current = value
    for element in path:
        if isinstance(current, dict):
            try:
                if element in current:
                    parent, key, current = current, element, current[element]
                    continue
            except TypeError:
                return False, None, None, None
        if isinstance(current, list) and isinstance(element, int) and -len(current) <= element < len(current):
            parent, key, current = current, element, current[element]
            continue
        if element == 0 and not isinstance(current, list):
            continue
        return False, None, None, None
    return True, parent, key, current


def _dotted(domain: str, value: Any, path: Sequence[Any]) -> str:
    """`jobs.guardrails.gpu_percent`, `automation[0].triggers` — how users name an option."""
    text = domain
    current = value
    for element in path:
        is_index = isinstance(element, int) and not isinstance(element, bool)
        if is_index and isinstance(current, dict) and element not in current:
            text += f"[{element}]"  # a single mapping that the schema wrapped into a list
            continue
        if is_index and not isinstance(current, dict):
            text += f"[{element}]"
        else:
            text += f".{element}"
        try:
            if isinstance(current, dict):
                current = current.get(element)
            elif isinstance(current, list) and isinstance(element, int):
                current = current[element]
            else:
                current = None
        except (TypeError, IndexError):
            current = None
    return text


def _describe(found: bool, parent: Any, key: Any, item: Any) -> str | None:
    """'str 'abc'', 'int 5', 'a mapping', 'nothing', or the secret's name — never a secret value."""
    if not found:
        return None
    secret_name = None
    if isinstance(parent, NodeDict):
        secret_name = parent.secret_keys.get(key)
    elif isinstance(parent, NodeList) and isinstance(key, int):
        secret_name = parent.secret_items.get(key % max(len(parent), 1))
    if secret_name is None and isinstance(item, SecretStr):
        secret_name = item.secret_name
    if secret_name is not None:
        return f"the value of secret '{secret_name}'"
    if item is None:
        return "nothing (the value is empty)"
    if isinstance(item, dict):
        return "a mapping"
    if isinstance(item, list):
        return "a list"
    if isinstance(item, Input):
        return f"an unsubstituted !input '{item.name}'"
    if isinstance(item, str):
        shown = str(item)
        if len(shown) > _MAX_SHOWN:
            shown = shown[: _MAX_SHOWN - 1] + "…"
        return f"str {shown!r}"
    if isinstance(item, bool):
        return f"bool {item}"
    kind = type(item).__name__
    return f"{kind} {item!r}"


def _convert(
    err: vol.Invalid, schema: vol.Schema, value: Any, domain: str, root: Any, secrets: set[str]
) -> ConfigError:
    path = _plain_path(err.path)

    def where(data_path: Sequence[Any]) -> Location:
        if root is not None:
            return location_of(root, [domain, *data_path])
        return location_of(value, data_path)

    if isinstance(err, vol.RequiredFieldInvalid) and path:
        parent = path[:-1]
        message = f"required option '{path[-1]}' missing under '{_dotted(domain, value, parent)}'"
        return ConfigError(_scrub(message, secrets), *where(parent))

    if err.msg == _EXTRA_KEYS and path:
        parent, unknown = path[:-1], path[-1]
        accepted = _accepted_keys(schema, parent)
        message = f"unknown option '{unknown}' under '{_dotted(domain, value, parent)}'"
        hint = did_you_mean(unknown, accepted)
        if hint:
            message += hint
        elif accepted:
            message += f" (valid options: {', '.join(sorted(accepted))})"
        return ConfigError(_scrub(message, secrets), *where(path))

    text = _TYPE_WORDS.get(err.msg, err.msg)
    message = f"{text} for '{_dotted(domain, value, path)}'"
    got = _describe(*_lookup(value, path))
    if got is not None:
        message += f", got {got}"
    return ConfigError(_scrub(message, secrets), *where(path))


# --------------------------------------------------------------------------------------------------
# Finding the keys a schema accepts at a path (for "did you mean")


def _candidates(node: Any) -> list[Any]:
    """Dict and list schemas reachable from `node` through Schema/All/Any/Maybe wrappers."""
    if isinstance(node, vol.Schema):
        return _candidates(node.schema)
    if isinstance(node, dict | list):
        return [node]
    validators = getattr(node, "validators", None)  # vol.All, vol.Any, vol.Maybe, ...
    if isinstance(validators, list | tuple):
        found: list[Any] = []
        for inner in validators:
            found.extend(_candidates(inner))
        return found
    return []


def _key_matches(schema_key: Any, element: Any) -> bool:
    key = schema_key.schema if isinstance(schema_key, vol.Marker) else schema_key
    if isinstance(key, type):
        return isinstance(element, key)
    try:
        return bool(key == element)
    except Exception:
        return False


def _accepted_keys(schema: Any, path: Sequence[Any]) -> set[str]:
    nodes = _candidates(schema)
    for element in path:
        next_nodes: list[Any] = []
        for node in nodes:
            if isinstance(node, dict):
                literal = [v for k, v in node.items() if not isinstance(_unmark(k), type) and _key_matches(k, element)]
                typed = [v for k, v in node.items() if isinstance(_unmark(k), type) and _key_matches(k, element)]
                for sub in literal or typed:
                    next_nodes.extend(_candidates(sub))
                if not (literal or typed) and element == 0:
                    next_nodes.append(node)  # ensure_list around a single mapping
            elif isinstance(node, list) and isinstance(element, int):
                for sub in node:
                    next_nodes.extend(_candidates(sub))
        nodes = next_nodes
    keys: set[str] = set()
    for node in nodes:
        if isinstance(node, dict):
            keys.update(str(_unmark(k)) for k in node if isinstance(_unmark(k), str))
    return keys


def _unmark(key: Any) -> Any:
    return key.schema if isinstance(key, vol.Marker) else key
