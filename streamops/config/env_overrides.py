"""Environment variables of the original StreamOps blueprint that override configuration.yaml.

Container users set these in `docker run -e` / compose; they are applied to the raw configuration
before validation (sections are created as needed), so the schemas check them like any YAML value
and errors point at `env:NAME`.  Empty values count as unset (compose passes `NAME=` for "not set").
The returned list says what was overridden, for the log — passwords and URL credentials are masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError, ConfigErrors
from .yaml_loader import NodeDict, NodeList

ROLES = ("all", "api", "worker", "overlay", "broker")
_TRUE = {"1", "true", "yes", "on", "enable", "enabled"}
_FALSE = {"0", "false", "no", "off", "disable", "disabled"}
_MASK = "***"


def _percent(name: str, raw: str) -> int:
    text = raw.strip().removesuffix("%").strip()
    try:
        value = int(text, 10)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number from 0 to 100, got {raw!r}", f"env:{name}") from None
    if not 0 <= value <= 100:
        raise ConfigError(f"{name} must be a whole number from 0 to 100, got {raw!r}", f"env:{name}")
    return value


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (also yes/no, on/off, 1/0), got {raw!r}", f"env:{name}")


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _role(name: str, raw: str) -> str:
    role = raw.strip().lower()
    if role not in ROLES:
        raise ConfigError(f"{name} must be one of {', '.join(ROLES)}, got {raw!r}", f"env:{name}")
    return role


def _redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _MASK
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{_MASK}@{host}" if user else f"{_MASK}@{host}"))


def _obs_url(name: str, raw: str) -> tuple[str, int | None]:
    text = raw.strip()
    shown = _redact_url(text)
    hint = f"{name} must look like ws://HOST:PORT (e.g. ws://127.0.0.1:4455), got {shown!r}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(hint, f"env:{name}") from None
    if parts.scheme != "ws" or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(hint, f"env:{name}")
    return parts.hostname, port


def _section(
    config: dict[str, Any], path: tuple[str, ...], source: str, *, first_of_list: bool = False
) -> dict[str, Any]:
    """The mapping at `path`, created (and marked as coming from `source`) where missing.

    A list at the top level (several OBS instances) means: the first one.
    """
    current: dict[str, Any] = config
    walked: list[str] = []
    for key in path:
        walked.append(key)
        child = current.get(key)
        if first_of_list and isinstance(child, list) and len(walked) == 1:
            if not child:
                child.append(_new_mapping(source))
                if isinstance(child, NodeList):
                    child.item_lines.append((source, None))
            child = child[0]
        if child is None:
            child = _new_mapping(source)
            current[key] = child
            if isinstance(current, NodeDict):
                current.set_location(key, (source, None))
        if not isinstance(child, dict):
            raise ConfigError(
                f"cannot apply {source.removeprefix('env:')}: "
                f"'{'.'.join(walked)}' in the configuration is not a mapping",
                source,
            )
        current = child
    return current


def _new_mapping(source: str) -> NodeDict:
    node = NodeDict()
    node.file, node.line = source, None
    return node


def _set(section: dict[str, Any], key: str, value: Any, source: str) -> None:
    section[key] = value
    if isinstance(section, NodeDict):
        section.set_location(key, (source, None))
        section.secret_keys.pop(key, None)


def _mark_secret(config: dict[str, Any], section: dict[str, Any], key: str, name: str, value: str) -> None:
    """Treat the value like a `!secret`: described by name and masked in validation messages."""
    if isinstance(section, NodeDict):
        section.secret_keys[key] = name
    shared = getattr(config, "secret_values", None)
    if isinstance(shared, set):
        shared.add(value)


# name -> (section path, key, parser, is_secret)
_SIMPLE: dict[str, tuple[tuple[str, ...], str, Callable[[str, str], Any], bool]] = {
    "OBS_WS_PASSWORD": (("obs",), "password", _text, True),
    "GPU_GUARD_PCT": (("jobs", "guardrails"), "gpu_percent", _percent, False),
    "CPU_GUARD_PCT": (("jobs", "guardrails"), "cpu_percent", _percent, False),
    "PAUSE_WHEN_RECORDING": (("jobs", "guardrails"), "pause_when_recording", _bool, False),
    "NATS_ENABLE": (("remote_workers",), "enabled", _bool, False),
    "NATS_URL": (("remote_workers",), "url", _text, False),
    "ROLE": (("streamops",), "role", _role, False),
    "DB_PATH": (("recorder",), "db_path", _text, False),
    "CACHE_DIR": (("streamops",), "cache_dir", _text, False),
    "THUMBS_DIR": (("streamops",), "thumbs_dir", _text, False),
    # The container's entrypoint contract: the hub listens on 127.0.0.1 unless told otherwise
    # (`-e STREAMOPS_BIND=0.0.0.0` with `-p 127.0.0.1:7767:7767`, docs/container.md).
    "STREAMOPS_BIND": (("http",), "server_host", _text, False),
}
ENV_VARIABLES = ("OBS_WS_URL", *_SIMPLE)


def _shown(name: str, value: Any, secret: bool) -> str:
    if secret:
        return _MASK
    if name == "NATS_URL":
        return repr(_redact_url(str(value)))
    return repr(value)


def collect_env_overrides(config: dict[str, Any], environ: Mapping[str, str]) -> tuple[list[str], list[ConfigError]]:
    """Apply every override that parses; return (what was overridden, errors for the ones that did not)."""
    done: list[str] = []
    errors: list[ConfigError] = []
    raw_url = environ.get("OBS_WS_URL", "")
    if raw_url.strip():
        source = "env:OBS_WS_URL"
        try:
            host, port = _obs_url("OBS_WS_URL", raw_url)
            obs = _section(config, ("obs",), source, first_of_list=True)
            _set(obs, "host", host, source)
            done.append(f"obs.host = {host!r} (from OBS_WS_URL)")
            if port is not None:
                _set(obs, "port", port, source)
                done.append(f"obs.port = {port} (from OBS_WS_URL)")
        except ConfigError as err:
            errors.append(err)
    for name, (path, key, parse, secret) in _SIMPLE.items():
        raw = environ.get(name, "")
        if not raw.strip():
            continue
        source = f"env:{name}"
        try:
            value = parse(name, raw)
            section = _section(config, path, source, first_of_list=path == ("obs",))
            _set(section, key, value, source)
        except ConfigError as err:
            errors.append(err)
            continue
        if secret:
            _mark_secret(config, section, key, name, value)
        done.append(f"{'.'.join((*path, key))} = {_shown(name, value, secret)} (from {name})")
    return done, errors


def apply_env_overrides(config: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    """Apply the environment overrides to the raw configuration (in place).

    Returns log lines describing each override (secrets masked).  Good values are applied even when
    others are bad; then one bad value raises ConfigError, several raise ConfigErrors.
    """
    done, errors = collect_env_overrides(config, environ)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    return done
