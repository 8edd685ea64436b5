"""Reusable voluptuous validators for configuration schemas (like Home Assistant's config_validation).

Messages say what was expected ("expected a port number from 1 to 65535"); `validation.validate`
adds the option's path and what was found ("…for 'http.port', got int 70000"), so the messages
here do not repeat the value (and so never echo a secret).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from numbers import Number
from typing import Any

import voluptuous as vol

# Home Assistant's entity id rule: lowercase domain and object id of [a-z0-9_], no leading,
# trailing or double underscores.
_ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")
_SLUG_INVALID = re.compile(r"[^a-z0-9_]+")
_HMS = re.compile(r"^([-+])?(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d)(?![a-z])", re.IGNORECASE)
_DURATION_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|sec|m|min|h|d)(?![a-z])\s*)+$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_PERIOD_KEYS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "milliseconds": 0.001}
_BYTE_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)\s*$", re.IGNORECASE)
# Decimal (SI) units as drive vendors and `df -H` count, binary ones as `df -h` / `ls -h` count.
_BYTE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
    "p": 1024**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
}
_TRUE = {"1", "true", "yes", "on", "enable", "enabled"}
_FALSE = {"0", "false", "no", "off", "disable", "disabled"}
_TEMPLATE_PAIRS = {"{{": "}}", "{%": "%}", "{#": "#}"}

PERIOD_HELP = "'00:05:00', '5s', '5m', '2h', '1h30m', a number of seconds, or hours/minutes/seconds"


def _is_number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def string(value: Any) -> str:
    """A string; numbers are accepted and converted, lists/mappings/None are not."""
    if value is None:
        raise vol.Invalid("expected a string")
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple | set):
        raise vol.Invalid("expected a string")
    return str(value)


def boolean(value: Any) -> bool:
    """Home Assistant's booleans: true/false, yes/no, on/off, enable/disable, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    elif _is_number(value) and value in (0, 1):
        return bool(value)
    raise vol.Invalid("expected a boolean (true/false, yes/no, on/off)")


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise vol.Invalid(f"expected {what}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise vol.Invalid(f"expected {what} (a whole number)")
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    raise vol.Invalid(f"expected {what}")


def positive_int(value: Any) -> int:
    """A whole number ≥ 0 (Home Assistant's meaning of positive_int)."""
    number = _integer(value, "a whole number of 0 or more")
    if number < 0:
        raise vol.Invalid("expected a whole number of 0 or more")
    return number


def port(value: Any) -> int:
    number = _integer(value, "a port number from 1 to 65535")
    if not 1 <= number <= 65535:
        raise vol.Invalid("expected a port number from 1 to 65535")
    return number


def percentage(value: Any) -> int | float:
    """0–100; '85%' is accepted.  Whole numbers come back as int."""
    message = "expected a percentage from 0 to 100"
    if isinstance(value, bool):
        raise vol.Invalid(message)
    number: float
    if _is_number(value):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().removesuffix("%").strip())
        except ValueError:
            raise vol.Invalid(message) from None
    else:
        raise vol.Invalid(message)
    if math.isnan(number) or not 0 <= number <= 100:
        raise vol.Invalid(message)
    return int(number) if number.is_integer() else number


def ensure_list(value: Any) -> list[Any]:
    """None → [], a list stays, anything else becomes a one-item list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def entity_id(value: Any) -> str:
    """`domain.object_id` (lowercased), e.g. `binary_sensor.obs_recording`."""
    text = string(value).strip().lower()
    if _ENTITY_ID.match(text):
        return text
    raise vol.Invalid("expected an entity id like 'sensor.cpu_percent' (lowercase letters, digits, underscores)")


def entity_ids(value: Any) -> list[str]:
    """A list of entity ids, or one comma-separated string of them."""
    if value is None:
        raise vol.Invalid("expected one or more entity ids")
    if isinstance(value, str):
        value = [part for part in (p.strip() for p in value.split(",")) if part]
    return [entity_id(item) for item in ensure_list(value)]


def slugify(text: str) -> str:
    """Lowercase, runs of other characters become one underscore, no leading/trailing underscore."""
    return _SLUG_INVALID.sub("_", text.strip().lower()).strip("_")


def slug(value: Any) -> str:
    """An identifier of lowercase letters, digits and underscores."""
    text = string(value)
    suggestion = slugify(text)
    if text and text == suggestion:
        return text
    hint = f" such as '{suggestion}'" if suggestion else ""
    raise vol.Invalid(f"expected a slug{hint} (lowercase letters, digits and underscores)")


def time_period(value: Any) -> dt.timedelta:
    """A duration: "00:05:00" / "05:00" (HH:MM), "5s", "5m", "2h", "1h30m", "500ms", a number of
    seconds, a {hours, minutes, seconds, ...} mapping, or a timedelta."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool) or value is None:
        raise vol.Invalid(f"expected a time period ({PERIOD_HELP})")
    if _is_number(value):
        return _seconds(float(value))
    if isinstance(value, dict):
        return _period_from_mapping(value)
    if isinstance(value, str):
        text = value.strip()
        match = _HMS.match(text)
        if match:
            sign, hours, minutes, seconds = match.groups()
            if int(minutes) >= 60 or (seconds is not None and float(seconds) >= 60):
                raise vol.Invalid("expected a time period as HH:MM or HH:MM:SS with minutes and seconds below 60")
            total = int(hours) * 3600 + int(minutes) * 60 + float(seconds or 0)
            return _seconds(-total if sign == "-" else total)
        if _DURATION_WHOLE.match(text):
            total = sum(float(amount) * _UNIT_SECONDS[unit.lower()] for amount, unit in _DURATION_PART.findall(text))
            return _seconds(total)
        try:
            return _seconds(float(text))
        except ValueError:
            pass
    raise vol.Invalid(f"expected a time period ({PERIOD_HELP})")


def _seconds(total: float) -> dt.timedelta:
    if math.isnan(total) or math.isinf(total):
        raise vol.Invalid(f"expected a time period ({PERIOD_HELP})")
    return dt.timedelta(seconds=total)


def _period_from_mapping(value: dict[Any, Any]) -> dt.timedelta:
    if not value:
        raise vol.Invalid("expected a time period; the mapping is empty (use hours, minutes, seconds)")
    total = 0.0
    for key, amount in value.items():
        if key not in _PERIOD_KEYS:
            raise vol.Invalid(f"unknown time period key '{key}' (use {', '.join(_PERIOD_KEYS)})")
        if not _is_number(amount):
            raise vol.Invalid(f"expected a number for '{key}' in the time period")
        total += float(amount) * _PERIOD_KEYS[key]
    return _seconds(total)


def positive_time_period(value: Any) -> dt.timedelta:
    period = time_period(value)
    if period < dt.timedelta(0):
        raise vol.Invalid("expected a time period of zero or more")
    return period


def template(value: Any) -> str:
    """A Jinja template string with balanced `{{ }}`, `{% %}` and `{# #}` (rendering is elsewhere)."""
    if isinstance(value, dict | list) or value is None or isinstance(value, bool):
        raise vol.Invalid("expected a template string")
    text = value if isinstance(value, str) else str(value)
    index = 0
    while index < len(text):
        opener = text[index : index + 2]
        if opener in _TEMPLATE_PAIRS:
            closer = _TEMPLATE_PAIRS[opener]
            end = text.find(closer, index + 2)
            if end < 0:
                raise vol.Invalid(f"unclosed '{opener}' in template (missing '{closer}')")
            index = end + 2
            continue
        if opener in ("}}", "%}", "#}"):
            raise vol.Invalid(f"'{opener}' without a matching opening in template")
        index += 1
    return text


def path_glob(value: Any) -> str:
    """A file path pattern such as `D:/OBS/**/*.mkv` (brackets balanced, no NUL bytes)."""
    text = string(value).strip()
    if not text:
        raise vol.Invalid("expected a path or glob pattern, got an empty string")
    if "\x00" in text:
        raise vol.Invalid("expected a path or glob pattern without NUL characters")
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth:
        raise vol.Invalid("expected a glob pattern with balanced '[' and ']'")
    return text


def byte_size(value: Any) -> int:
    """A size in bytes: 1048576, "500MB", "10 GB" (×1000), "1.5GiB" or "10G" (×1024)."""
    message = "expected a size such as '10GB', '500 MB', '1.5GiB' or a number of bytes"
    if isinstance(value, bool) or value is None:
        raise vol.Invalid(message)
    if _is_number(value):
        amount, factor = float(value), 1
    elif isinstance(value, str):
        match = _BYTE_SIZE.match(value)
        if not match:
            raise vol.Invalid(message)
        unit = match.group(2).lower()
        if unit not in _BYTE_UNITS:
            raise vol.Invalid(message)
        amount, factor = float(match.group(1)), _BYTE_UNITS[unit]
    else:
        raise vol.Invalid(message)
    if amount < 0 or math.isnan(amount) or math.isinf(amount):
        raise vol.Invalid(message)
    return int(amount * factor)


def one_of(*choices: str) -> Callable[[Any], str]:
    """A validator accepting exactly one of `choices` (case-insensitive), with a readable message."""
    lowered = {choice.lower(): choice for choice in choices}

    def validate(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in lowered:
            return lowered[value.strip().lower()]
        raise vol.Invalid(f"expected one of {', '.join(choices)}")

    return validate
