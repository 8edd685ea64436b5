"""The `drives:` configuration: named drives, each a folder to watch for finished recordings.

Accepted shapes (both become a mapping of name → drive options)::

    drives:
      recordings:
        path: /mnt/recordings
        watch: ["Recordings/**/*.mkv", "*.mp4"]
        ignore: ["**/tmp/**"]
        min_quiet_seconds: 10
        poll: auto            # on | off | auto
        poll_interval: 2

    drives:
      - name: recordings
        path: /mnt/recordings
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol

from .globs import glob_validator

# Hidden files (also our own probe files and the dot-prefixed temporaries others write) and the
# partial-download suffixes of browsers and copy tools are never "finished recordings".
DEFAULT_IGNORE = ["**/.*", "*.tmp", "*.part", "*.partial", "*.crdownload", "*.download", "~*"]

POLL_ON, POLL_OFF, POLL_AUTO = "on", "off", "auto"

_NAME_RE = re.compile(r"^[a-z0-9_]+$")


def _poll_mode(value: Any) -> str:
    # YAML 1.1 reads a bare `on`/`off` as a boolean.
    if value is True:
        return POLL_ON
    if value is False:
        return POLL_OFF
    if isinstance(value, str) and value.lower() in (POLL_ON, POLL_OFF, POLL_AUTO, "true", "false"):
        return {"true": POLL_ON, "false": POLL_OFF}.get(value.lower(), value.lower())
    raise vol.Invalid(f"poll must be on, off or auto (got {value!r})")


def _drive_name(value: Any) -> str:
    name = str(value)
    if not _NAME_RE.match(name):
        raise vol.Invalid(
            f"drive name {name!r} must be lower-case letters, digits and underscores"
            " (it becomes part of entity ids like sensor.drive_<name>_free)"
        )
    return name


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("path must be a non-empty folder path")
    return value


DRIVE_OPTIONS = {
    vol.Required("path"): _path,
    vol.Optional("watch", default=["**/*"]): glob_validator,
    # Added to DEFAULT_IGNORE unless `default_ignore: false` (hidden temporaries are never wanted).
    vol.Optional("ignore", default=[]): glob_validator,
    vol.Optional("default_ignore", default=True): bool,
    vol.Optional("min_quiet_seconds", default=10.0): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=86400)),
    vol.Optional("poll", default=POLL_AUTO): _poll_mode,
    vol.Optional("poll_interval", default=2.0): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=3600)),
    vol.Optional("stats_interval", default=60.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=86400)),
    vol.Optional("scan_on_start", default=True): bool,
    vol.Optional("check_open_files", default=True): bool,
    vol.Optional("case_sensitive", default=False): bool,
}
DRIVE_SCHEMA = vol.Schema(DRIVE_OPTIONS)
LISTED_DRIVE_SCHEMA = vol.Schema({vol.Required("name"): _drive_name, **DRIVE_OPTIONS})


def _normalize(value: Any) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if isinstance(value, list):
        drives: dict[str, dict[str, Any]] = {}
        for index, item in enumerate(value):
            try:
                options = LISTED_DRIVE_SCHEMA(item)
            except vol.Invalid as err:
                err.prepend([index])
                raise
            name = options.pop("name")
            if name in drives:
                raise vol.Invalid(f"drive {name!r} is defined twice", path=[index, "name"])
            drives[name] = options
        return drives
    if isinstance(value, dict):
        result: dict[str, dict[str, Any]] = {}
        for key, item in value.items():
            name = _drive_name(key)
            try:
                result[name] = DRIVE_SCHEMA(item)
            except vol.Invalid as err:
                err.prepend([key])
                raise
        return result
    raise vol.Invalid("drives must be a mapping of name → options, or a list of drives with a name")


CONFIG_SCHEMA = vol.Schema(_normalize)


@dataclass
class DriveConfig:
    """One drive's validated options, its root resolved (symlinks followed) once at setup."""

    name: str
    root: Path
    watch: list[str] = field(default_factory=lambda: ["**/*"])
    ignore: list[str] = field(default_factory=list)
    default_ignore: bool = True
    min_quiet_seconds: float = 10.0
    poll: str = POLL_AUTO
    poll_interval: float = 2.0
    stats_interval: float = 60.0
    scan_on_start: bool = True
    check_open_files: bool = True
    case_sensitive: bool = False

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], config_dir: Path) -> DriveConfig:
        raw = Path(options["path"]).expanduser()
        if not raw.is_absolute():
            raw = config_dir / raw
        options = dict(options)
        if options.get("default_ignore", True):
            options["ignore"] = [*DEFAULT_IGNORE, *options.get("ignore", [])]
        return cls(
            name=name,
            root=raw.resolve(),
            **{key: value for key, value in options.items() if key != "path"},
        )
