"""Named drive roots, so the asset index can say which drive a file lives on.

The drives integration fills this at setup (integrations depend on the core, never the reverse);
the asset index reads it to store and filter by `drive`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core import Hub, HubKey

DRIVE_ROOTS: HubKey[dict[str, Path]] = HubKey("assets.drive_roots")


def register_drive_root(hub: Hub, name: str, root: Path) -> None:
    hub.data.setdefault(DRIVE_ROOTS, {})[name] = root


def drive_for_path(hub: Hub, path: str | os.PathLike[str]) -> str | None:
    """The name of the configured drive holding `path` (the deepest root wins), or None."""
    roots = hub.data.get(DRIVE_ROOTS) or {}
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for name, root in roots.items():
        root_str = str(root)
        if target == root_str or target.startswith(root_str.rstrip("/") + "/"):
            if best is None or len(root_str) > best[0]:
                best = (len(root_str), name)
    return best[1] if best else None
