"""The `obs:` configuration: one OBS or a list of them, plus the environment overrides.

```yaml
obs:
  host: 192.168.1.20          # default: host.docker.internal in a container, else 127.0.0.1
  port: 4455
  password: !secret obs_password
  game_map:
    scenes: {"Elden*": Elden Ring}
    profiles: {Valorant: Valorant}
  path_map: {"C:/Users/me/Videos": /recordings}
```

or a list of such blocks, each with a unique `name:` (the first one's entities carry no suffix).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import voluptuous as vol

from streamops.core.util import slugify

from .const import DEFAULT_PORT, DEFAULT_RECONNECT_MAX, DEFAULT_STATS_INTERVAL, DEFAULT_TIMEOUT

ENV_URL = "OBS_WS_URL"
ENV_PASSWORD = "OBS_WS_PASSWORD"


def default_host() -> str:
    """OBS runs on the host: from inside a container that is host.docker.internal (Docker Desktop)."""
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return "host.docker.internal"
    return "127.0.0.1"


def _game_map(value: Any) -> dict[str, dict[str, str]]:
    """`{scenes: {...}, profiles: {...}}`; names may be shell-style patterns (`Elden*`)."""
    if value is None:
        return {"scenes": {}, "profiles": {}}
    value = vol.Schema(
        {
            vol.Optional("scenes", default={}): {vol.Coerce(str): vol.Coerce(str)},
            vol.Optional("profiles", default={}): {vol.Coerce(str): vol.Coerce(str)},
        }
    )(value)
    return dict(value)


def _path_map(value: Any) -> list[tuple[str, str]]:
    """OBS-side path prefix → local path prefix (OBS on Windows, StreamOps in a container)."""
    if value is None:
        return []
    mapping = vol.Schema({vol.Coerce(str): vol.Coerce(str)})(value)
    pairs = [(_norm_prefix(src), dst.rstrip("/\\")) for src, dst in mapping.items()]
    # Longest prefix first, so a nested mapping wins over its parent.
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def _norm_prefix(path: str) -> str:
    return path.replace("\\", "/").rstrip("/")


INSTANCE_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): vol.All(str, vol.Length(min=1, max=40)),
        vol.Optional("url"): vol.All(str, vol.Match(r"^wss?://", msg="url must look like ws://host:4455")),
        vol.Optional("host"): vol.All(str, vol.Length(min=1)),
        vol.Optional("port", default=DEFAULT_PORT): vol.All(vol.Coerce(int), vol.Range(min=1, max=65535)),
        vol.Optional("password", default=""): vol.Any(None, vol.Coerce(str)),
        vol.Optional("game_map", default=None): _game_map,
        vol.Optional("default_game"): vol.Any(None, vol.Coerce(str)),
        vol.Optional("path_map", default=None): _path_map,
        vol.Optional("stats_interval", default=DEFAULT_STATS_INTERVAL): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=3600)
        ),
        vol.Optional("timeout", default=DEFAULT_TIMEOUT): vol.All(vol.Coerce(float), vol.Range(min=0.5, max=120)),
        vol.Optional("reconnect_max", default=DEFAULT_RECONNECT_MAX): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=3600)
        ),
        vol.Optional("chapters", default=True): bool,
    }
)


def _instances(value: Any) -> list[dict[str, Any]]:
    if value is None:
        value = {}
    items = value if isinstance(value, list) else [value]
    if not items:
        items = [{}]
    validated: list[dict[str, Any]] = []
    errors: list[vol.Invalid] = []
    for index, item in enumerate(items):
        try:
            instance = INSTANCE_SCHEMA(item)
        except vol.MultipleInvalid as err:
            prefix = [index] if isinstance(value, list) else []
            errors.extend(vol.Invalid(e.msg, path=prefix + list(e.path)) for e in err.errors)
            continue
        instance.setdefault("name", "obs" if index == 0 else f"obs{index + 1}")
        validated.append(instance)
    if errors:
        raise vol.MultipleInvalid(errors)
    seen: dict[str, int] = {}
    for index, instance in enumerate(validated):
        slug = slugify(instance["name"])
        if slug in seen:
            raise vol.Invalid(
                f"duplicate OBS instance name {instance['name']!r} (also used by entry {seen[slug]}): "
                "give every OBS a unique name:",
                path=[index, "name"],
            )
        seen[slug] = index
    return validated


CONFIG_SCHEMA = vol.Schema(_instances)


@dataclass
class InstanceConfig:
    """One OBS to connect to, after defaults and environment overrides."""

    name: str
    host: str
    port: int
    password: str
    primary: bool
    game_map: dict[str, dict[str, str]] = field(default_factory=lambda: {"scenes": {}, "profiles": {}})
    default_game: str | None = None
    path_map: list[tuple[str, str]] = field(default_factory=list)
    stats_interval: float = DEFAULT_STATS_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    reconnect_max: float = DEFAULT_RECONNECT_MAX
    chapters: bool = True
    overrides: list[str] = field(default_factory=list)

    @property
    def object_suffix(self) -> str:
        """'' for the first OBS (binary_sensor.obs_recording), `_<name>` for the others."""
        return "" if self.primary else f"_{slugify(self.name)}"

    def game_for(self, scene: str | None, profile: str | None) -> str | None:
        """Game from the scene (first), then the profile, then `default_game`."""
        for kind, value in (("scenes", scene), ("profiles", profile)):
            if not value:
                continue
            table = self.game_map.get(kind, {})
            if value in table:
                return table[value]
            for pattern, game in table.items():
                if fnmatchcase(value, pattern):
                    return game
        return self.default_game

    def local_path(self, obs_path: str | None) -> str | None:
        """OBS's path for a file, translated through `path_map` into this machine's path."""
        if not obs_path:
            return obs_path
        normalized = obs_path.replace("\\", "/")
        for src, dst in self.path_map:
            if normalized == src or normalized.startswith(src + "/"):
                return dst + normalized[len(src) :]
            # Windows paths compare case-insensitively.
            if re.match(r"^[A-Za-z]:/", src) and normalized.lower().startswith(src.lower() + "/"):
                return dst + normalized[len(src) :]
        return obs_path


def build_instances(config: list[dict[str, Any]], environ: Mapping[str, str] = os.environ) -> list[InstanceConfig]:
    """Validated config → InstanceConfig list; OBS_WS_URL / OBS_WS_PASSWORD apply to the first OBS."""
    result: list[InstanceConfig] = []
    for index, item in enumerate(config):
        host = item.get("host")
        port = int(item["port"])
        overrides: list[str] = []
        if item.get("url"):
            host, port = _split_url(item["url"], port)
        password = item.get("password") or ""
        if index == 0:
            if environ.get(ENV_URL):
                host, port = _split_url(environ[ENV_URL], port)
                overrides.append(f"{ENV_URL} sets host/port")
            if environ.get(ENV_PASSWORD):
                password = environ[ENV_PASSWORD]
                overrides.append(f"{ENV_PASSWORD} sets the password")
        result.append(
            InstanceConfig(
                name=item["name"],
                host=host or default_host(),
                port=port,
                password=password,
                primary=index == 0,
                game_map=item.get("game_map") or {"scenes": {}, "profiles": {}},
                default_game=item.get("default_game"),
                path_map=item.get("path_map") or [],
                stats_interval=float(item["stats_interval"]),
                timeout=float(item["timeout"]),
                reconnect_max=float(item["reconnect_max"]),
                chapters=bool(item["chapters"]),
                overrides=overrides,
            )
        )
    return result


def _split_url(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"ws://{url}")
    if not parts.hostname:
        raise vol.Invalid(f"cannot read a host from the OBS url {url!r} (expected ws://host:4455)")
    return parts.hostname, parts.port or default_port
