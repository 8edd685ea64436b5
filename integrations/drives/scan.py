"""Walk a drive for the files its filter wants (start-up scan, `drives.rescan`, renamed-in folders).

Blocking; run it with `asyncio.to_thread`. `os.scandir` gives type and stat info from one
`getdents` + one `stat` per file; ignored folders are not descended into; symlinked folders are not
followed (a link loop must not hang a scan).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

from .globs import PathFilter

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FoundFile:
    path: str
    size: int
    mtime_ns: int


def relative_to(root: str, path: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def iter_files(root: str, path_filter: PathFilter, start: str | None = None) -> Iterator[FoundFile]:
    """Every wanted regular file below `start` (default: the root), as seen right now."""
    stack = [start or root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as err:
            _LOGGER.debug("Cannot list %s: %s", folder, err)
            continue
        for entry in entries:
            try:
                rel = relative_to(root, entry.path)
                if entry.is_dir(follow_symlinks=False):
                    if not path_filter.dir_ignored(rel):
                        stack.append(entry.path)
                    continue
                if not entry.is_file(follow_symlinks=False) or not path_filter.wanted(rel):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield FoundFile(entry.path, st.st_size, st.st_mtime_ns)


def scan(root: str, path_filter: PathFilter, start: str | None = None) -> list[FoundFile]:
    return list(iter_files(root, path_filter, start))
