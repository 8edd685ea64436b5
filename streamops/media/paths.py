"""Where media outputs may go: the configured drives, plus the data dir's thumbs and cache.

Every path a media or file service touches is checked here first, with an error that names the
path, so an automation that renders a bad destination fails loudly instead of writing elsewhere.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from ..core import Hub, ServiceError


class PathNotAllowed(ServiceError):
    """A source or destination outside the configured drives."""


# True while a service plans a dry run: its input may be a file an earlier planned step would make
# (simulate: the remuxed .mov that the next step moves), so "does not exist" is not an error then.
_PLANNING: ContextVar[bool] = ContextVar("streamops_planning", default=False)


@contextmanager
def planning(active: bool = True) -> Iterator[None]:
    token = _PLANNING.set(active)
    try:
        yield
    finally:
        _PLANNING.reset(token)


def is_planning() -> bool:
    return _PLANNING.get()


def thumbs_dir(hub: Hub, configured: str | None = None) -> Path:
    """`THUMBS_DIR` env, else `media: thumbs_dir` / `streamops: thumbs_dir`, else <data>/thumbs."""
    raw = hub.config.raw or {}
    value = os.environ.get("THUMBS_DIR") or configured or (raw.get("streamops") or {}).get("thumbs_dir")
    return Path(value) if value else hub.config.path("thumbs")


def cache_dir(hub: Hub) -> Path:
    raw = hub.config.raw or {}
    value = os.environ.get("CACHE_DIR") or (raw.get("streamops") or {}).get("cache_dir")
    return Path(value) if value else hub.config.path("cache")


def _inside(path: Path, root: Path) -> bool:
    try:
        resolved, base = path.resolve(), root.resolve()
    except (OSError, RuntimeError):
        return False
    return resolved == base or base in resolved.parents


def _no_nul(path: str | os.PathLike[str], what: str) -> None:
    """The OS cannot name a file with a NUL byte; without this, resolve() raises a bare ValueError."""
    if "\x00" in os.fspath(path):
        raise PathNotAllowed(f"{what} contains a NUL byte: {os.fspath(path)!r}")


def check_source(hub: Hub, path: str | os.PathLike[str], what: str = "source") -> Path:
    """An absolute, allowed path to an existing file (or folder)."""
    _no_nul(path, what)
    target = Path(path).expanduser()
    if not target.is_absolute():
        raise PathNotAllowed(f"{what} must be an absolute path, got {str(path)!r}")
    if not hub.config.is_allowed_path(target) and not _inside(target, cache_dir(hub)):
        raise PathNotAllowed(f"{what} {target} is outside the configured drives ({_allowed(hub)})")
    if not target.exists() and not is_planning():
        raise ServiceError(f"{what} {target} does not exist")
    return target


def check_destination(
    hub: Hub, path: str | os.PathLike[str], what: str = "destination", derivative: bool = False
) -> Path:
    """An absolute path inside the drives (derivatives may also go to the thumbs/cache dirs)."""
    _no_nul(path, what)
    target = Path(path).expanduser()
    if not target.is_absolute():
        raise PathNotAllowed(f"{what} must be an absolute path, got {str(path)!r}")
    if hub.config.is_allowed_path(target):
        return target
    if derivative and (_inside(target, thumbs_dir(hub, _media_thumbs(hub))) or _inside(target, cache_dir(hub))):
        return target
    raise PathNotAllowed(f"{what} {target} is outside the configured drives ({_allowed(hub)})")


def _media_thumbs(hub: Hub) -> str | None:
    return ((hub.config.raw or {}).get("media") or {}).get("thumbs_dir")


def _allowed(hub: Hub) -> str:
    dirs = ", ".join(str(d) for d in hub.config.allowed_dirs)
    return f"allowed: {dirs}" if dirs else "no drives are configured"


def derivative_dir(hub: Hub, source: Path) -> Path:
    """<thumbs>/<stem>-<8 hex of the absolute path>/: one folder per recording, stable across runs."""
    digest = hashlib.blake2s(str(source.absolute()).encode(), digest_size=4).hexdigest()
    safe_stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in source.stem)[:80] or "media"
    return thumbs_dir(hub, _media_thumbs(hub)) / f"{safe_stem}-{digest}"
