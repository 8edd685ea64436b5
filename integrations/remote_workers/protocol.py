"""What travels over NATS, and how it is checked: job messages, results, progress, heartbeats.

Job messages carry data only — a job type name (which the worker must be configured to accept)
and JSON params. No command line, program name or code ever travels: the worker runs its own
registered runner for the type, exactly as the hub would. Messages that do not validate are
rejected with a reason, never half-run.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import voluptuous as vol

from .const import PROTOCOL_VERSION

MAX_MESSAGE_BYTES = 256 * 1024
# Keys that would smell of a command being smuggled in as a param: refused outright.
FORBIDDEN_PARAM_KEYS = frozenset({"argv", "args", "command", "cmd", "shell", "exec", "program", "script"})


class ProtocolError(ValueError):
    """A message that is not what the protocol allows; the text says what is wrong with it."""


def _json_data(value: Any, where: str = "params", depth: int = 0) -> Any:
    if depth > 20:
        raise vol.Invalid(f"{where} is nested too deeply")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_json_data(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise vol.Invalid(f"{where} has a non-string key {key!r}")
            if depth == 0 and key.lower() in FORBIDDEN_PARAM_KEYS:
                raise vol.Invalid(f"{where}.{key}: command-like params are never accepted from the network")
            out[key] = _json_data(item, f"{where}.{key}", depth + 1)
        return out
    raise vol.Invalid(f"{where} holds a {type(value).__name__}, not JSON data")


def _params(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise vol.Invalid("params must be an object")
    return _json_data(value)


JOB_SCHEMA = vol.Schema(
    {
        vol.Required("v"): vol.All(int, vol.Range(min=1, max=PROTOCOL_VERSION)),
        vol.Required("job_id"): vol.All(int, vol.Range(min=1)),
        vol.Required("attempt"): vol.All(int, vol.Range(min=1)),
        vol.Required("type"): vol.All(str, vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$")),
        vol.Required("params"): _params,
        vol.Optional("hub", default=""): str,
        vol.Optional("sent", default=0.0): vol.Coerce(float),
    }
)

RESULT_SCHEMA = vol.Schema(
    {
        vol.Required("v"): int,
        vol.Required("kind"): vol.In(["started", "done", "error", "rejected"]),
        vol.Required("job_id"): vol.All(int, vol.Range(min=1)),
        vol.Required("attempt"): vol.All(int, vol.Range(min=1)),
        vol.Required("worker"): str,
        vol.Optional("delivered", default=1): int,
        vol.Optional("result"): vol.Any(None, dict),
        vol.Optional("error"): vol.Any(None, str),
        vol.Optional("retry", default=True): bool,
        vol.Optional("sent", default=0.0): vol.Coerce(float),
    },
    extra=vol.ALLOW_EXTRA,
)


@dataclass(frozen=True)
class JobMessage:
    job_id: int
    attempt: int
    type: str
    params: dict[str, Any]
    hub: str = ""
    sent: float = 0.0

    def encode(self) -> bytes:
        return dump(
            {
                "v": PROTOCOL_VERSION,
                "job_id": self.job_id,
                "attempt": self.attempt,
                "type": self.type,
                "params": self.params,
                "hub": self.hub,
                "sent": self.sent or time.time(),
            }
        )

    @property
    def msg_id(self) -> str:
        """JetStream de-duplication id: publishing the same attempt twice stores it once."""
        return f"job-{self.job_id}-{self.attempt}"


def dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _load(raw: bytes, what: str) -> dict[str, Any]:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"{what} message of {len(raw)} bytes exceeds the {MAX_MESSAGE_BYTES} byte limit")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProtocolError(f"{what} message is not JSON: {err}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} message must be a JSON object")
    return data


def _humanize(err: vol.Invalid) -> str:
    path = ".".join(str(p) for p in err.path)
    return f"{path}: {err.msg}" if path else str(err.msg)


def parse_job(raw: bytes) -> JobMessage:
    data = _load(raw, "job")
    try:
        checked = JOB_SCHEMA(data)
    except vol.MultipleInvalid as err:
        raise ProtocolError(f"invalid job message: {'; '.join(_humanize(e) for e in err.errors)}") from None
    except vol.Invalid as err:
        raise ProtocolError(f"invalid job message: {_humanize(err)}") from None
    return JobMessage(
        checked["job_id"], checked["attempt"], checked["type"], checked["params"], checked["hub"], checked["sent"]
    )


def parse_result(raw: bytes) -> dict[str, Any]:
    data = _load(raw, "result")
    try:
        return RESULT_SCHEMA(data)
    except vol.Invalid as err:
        raise ProtocolError(f"invalid result message: {_humanize(err)}") from None


def parse_json(raw: bytes, what: str) -> dict[str, Any]:
    return _load(raw, what)


# -- path mapping ---------------------------------------------------------------------------------
class PathMap:
    """Hub paths ↔ this worker's mount points, longest prefix first, whole path components only.

    `/mnt/rec` maps `/mnt/rec/a.mkv` but not `/mnt/recordings/a.mkv`.
    """

    def __init__(self, mapping: dict[str, str], allowed_dirs: list[str] | None = None) -> None:
        self.pairs = sorted(((_norm(h), _norm(w)) for h, w in mapping.items()), key=lambda p: -len(p[0]))
        self.reverse = sorted(((w, h) for h, w in self.pairs), key=lambda p: -len(p[0]))
        self.roots = [w for _, w in self.pairs] + [_norm(d) for d in allowed_dirs or []]

    @staticmethod
    def _swap(text: str, pairs: list[tuple[str, str]]) -> str:
        for src, dst in pairs:
            if text == src:
                return dst
            if text.startswith(src.rstrip("/") + "/"):
                return dst.rstrip("/") + text[len(src.rstrip("/")) :]
        return text

    def _walk(self, value: Any, pairs: list[tuple[str, str]]) -> Any:
        if isinstance(value, str):
            return self._swap(value, pairs) if value.startswith("/") else value
        if isinstance(value, list):
            return [self._walk(v, pairs) for v in value]
        if isinstance(value, dict):
            return {k: self._walk(v, pairs) for k, v in value.items()}
        return value

    def to_worker(self, value: Any) -> Any:
        return self._walk(value, self.pairs)

    def to_hub(self, value: Any) -> Any:
        return self._walk(value, self.reverse)

    def outside_paths(self, params: dict[str, Any]) -> list[str]:
        """Absolute paths in (already mapped) params that lie outside every root this worker may touch.

        With no path_map and no allowed_dirs there are no roots and nothing is refused (a worker on
        the hub's own machine); the worker logs that at start.
        """
        if not self.roots:
            return []
        bad: list[str] = []

        def visit(value: Any) -> None:
            if isinstance(value, str) and value.startswith("/"):
                norm = os.path.normpath(value)
                if not any(norm == r or norm.startswith(r.rstrip("/") + "/") for r in self.roots):
                    bad.append(value)
            elif isinstance(value, list):
                for v in value:
                    visit(v)
            elif isinstance(value, dict):
                for v in value.values():
                    visit(v)

        visit(params)
        return bad


def _norm(path: str) -> str:
    return str(PurePosixPath(os.path.normpath(path)))
