"""Collecting validation problems with the path of the offending node.

Validators here never raise for bad user input: they record `(path, message)` issues and go on,
so one check reports every problem at once. The automation loader turns each path into the file
and line of the YAML node it points at (`FILE:LINE: message`), which is the whole point of keeping
paths rather than formatting messages early.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

from ..templates import Template, TemplateError, is_template_string

Path = tuple[Any, ...]


@dataclass
class Issues:
    """Problems found so far, each with the path (keys and list indexes) of the node at fault."""

    items: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path, message: str) -> None:
        self.items.append((tuple(path), message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)


def suggest(word: Any, choices: Iterable[str]) -> str:
    """' (did you mean "to"?)' when a close match exists, else ''."""
    matches = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{matches[0]}"?)' if matches else ""


def vol_message(err: vol.Invalid, schema_keys: Iterable[str] = ()) -> str:
    """Voluptuous' terse messages made readable: unknown keys get a did-you-mean."""
    key = err.path[-1] if err.path else None
    msg = err.error_message or str(err)
    if msg == "extra keys not allowed" and key is not None:
        return f"unknown key '{key}'{suggest(key, schema_keys)}"
    if msg == "required key not provided" and key is not None:
        return f"missing required key '{key}'"
    return msg


def _schema_keys(schema: Any) -> list[str]:
    inner = getattr(schema, "schema", None)
    if isinstance(inner, Mapping):
        return [str(getattr(k, "schema", k)) for k in inner]
    keys: list[str] = []
    for validator in getattr(schema, "validators", ()) or ():  # vol.All / vol.Any
        keys += _schema_keys(validator)
    return keys


def run_schema(schema: Any, value: Any, path: Path, issues: Issues) -> Any | None:
    """Apply a voluptuous schema (or any validator); each error becomes an issue at its own sub-path.
    None on failure."""
    keys = _schema_keys(schema)
    try:
        return schema(value)
    except vol.MultipleInvalid as err:
        for item in err.errors:
            issues.add((*path, *item.path), vol_message(item, keys))
    except vol.Invalid as err:
        issues.add((*path, *err.path), vol_message(err, keys))
    return None


def check_templates(value: Any, path: Path, issues: Issues) -> None:
    """Compile every template string inside `value`, so syntax errors are config errors with a line."""
    if isinstance(value, str):
        if is_template_string(value):
            try:
                Template(value)
            except TemplateError as err:
                issues.add(path, str(err))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_templates(item, (*path, key), issues)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_templates(item, (*path, index), issues)


def template_str(value: Any) -> str:
    """Voluptuous validator: a string that compiles as a template."""
    if not isinstance(value, str):
        raise vol.Invalid(f"expected a template string, got {value!r}")
    try:
        Template(value)
    except TemplateError as err:
        raise vol.Invalid(str(err)) from err
    return str(value)


def ensure_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def string_list(value: Any) -> list[str]:
    """One string or a list of strings (e.g. `entity_id`)."""
    items = ensure_list(value)
    for item in items:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise vol.Invalid(f"expected a string or a list of strings, got {item!r}")
    return [str(item) for item in items]


def entity_ids(value: Any) -> list[str]:
    """'sensor.a, sensor.b', a list, or one id → lower-case ids in `domain.object_id` form."""
    from ..core.util import valid_entity_id

    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    items = string_list(value)
    if not items:
        raise vol.Invalid("expected at least one entity id")
    out = []
    for item in items:
        entity_id = item.lower()
        if not valid_entity_id(entity_id):
            raise vol.Invalid(f"invalid entity id {item!r}: expected domain.object_id")
        out.append(entity_id)
    return out


def period_or_template(value: Any) -> Any:
    """A time period, or a template (string or mapping with templates) rendered at run time."""
    from .templating import parse_period

    if is_template_string(value):
        return template_str(value)
    if isinstance(value, Mapping) and any(is_template_string(v) for v in value.values()):
        for item in value.values():
            if is_template_string(item):
                template_str(item)
        return dict(value)
    try:
        return parse_period(value)
    except ValueError as err:
        raise vol.Invalid(str(err)) from err


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "on", "yes", "1", "enable"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "off", "no", "0", "disable"):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise vol.Invalid(f"expected a boolean, got {value!r}")


COMMON_STEP_KEYS: dict[Any, Callable[[Any], Any]] = {
    vol.Optional("alias"): str,
    vol.Optional("enabled", default=True): vol.Any(boolean, template_str),
}
