"""Rendering values that may hold templates, with compiled templates cached per text.

`streamops.templates.render_complex` compiles each template string on every call; an automation
renders the same strings on every run, so compiling once keeps trigger-to-action latency low.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ..core import Hub
from ..templates import Template, TemplateError, is_template_string

_PERIOD_RE = re.compile(r"^\s*(-)?(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?\s*$")
_PERIOD_KEYS = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0, "milliseconds": 0.001}


class TemplateCache:
    """Compiled templates of one hub, keyed by their text."""

    __slots__ = ("_cache", "hub")

    def __init__(self, hub: Hub | None) -> None:
        self.hub = hub
        self._cache: dict[str, Template] = {}

    def get(self, text: str) -> Template:
        template = self._cache.get(text)
        if template is None:
            template = self._cache[text] = Template(text, self.hub)
        return template

    def render(self, value: Any, variables: Mapping[str, Any], *, parse_result: bool = True) -> Any:
        """Render every template string inside `value` (dicts and lists walked); others pass through."""
        if isinstance(value, str):
            if not is_template_string(value):
                return value
            return self.get(value).render(variables, parse_result=parse_result)
        if isinstance(value, Mapping):
            return {self.render(k, variables): self.render(v, variables) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.render(item, variables) for item in value]
        return value

    def truthy(self, text: str, variables: Mapping[str, Any]) -> bool:
        """A template condition: true when it renders to true, 'true', 'on', 'yes' or a non-zero number."""
        return result_is_true(self.get(text).render(variables))


def result_is_true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("true", "on", "yes", "1", "enable")
    return False


def parse_period(value: Any) -> float:
    """Seconds from 30, "00:01:30", "1:30", {"minutes": 1, "seconds": 30} or a timedelta.

    Raises ValueError with a message that says what is accepted.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a time period, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        text = value.strip()
        match = _PERIOD_RE.match(text)
        if match:
            sign, first, second, third = match.groups()
            if third is None:  # "HH:MM" as Home Assistant reads it
                seconds = int(first) * 3600 + int(second) * 60
            else:
                seconds = int(first) * 3600 + int(second) * 60 + float(third)
            seconds = -seconds if sign else seconds
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(
                    f"invalid time period {value!r}: use seconds (30), 'HH:MM:SS' or a mapping like {{minutes: 5}}"
                ) from None
    elif isinstance(value, Mapping):
        unknown = [k for k in value if k not in _PERIOD_KEYS]
        if unknown or not value:
            raise ValueError(f"invalid time period {dict(value)!r}: keys must be among {', '.join(_PERIOD_KEYS)}")
        try:
            seconds = sum(float(v) * _PERIOD_KEYS[k] for k, v in value.items())
        except (TypeError, ValueError):
            raise ValueError(f"invalid time period {dict(value)!r}: values must be numbers") from None
    else:
        raise ValueError(f"expected a time period, got {value!r}")
    if seconds < 0:
        raise ValueError(f"time period {value!r} is negative")
    return seconds


def render_period(cache: TemplateCache, value: Any, variables: Mapping[str, Any]) -> float:
    """A time period that may be (or contain) templates, rendered then parsed."""
    rendered = cache.render(value, variables)
    try:
        return parse_period(rendered)
    except ValueError as err:
        raise TemplateError(str(err)) from err
