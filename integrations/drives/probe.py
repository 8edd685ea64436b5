"""`drives.probe`: the settings page's "test this path" check.

Answers what a user needs before saving a drive: does it exist, can StreamOps read and write it,
how much space is free, and which filesystem it is (so "events will not arrive on 9p/SMB, polling
will be used" can be said up front). Writability is tested by creating and removing a hidden file,
because `os.access` lies on network and bind-mounted filesystems.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import psutil

from .watcher import EVENTLESS_FS, filesystem_type


def probe_path(raw: str) -> dict[str, Any]:
    """Blocking (run on a worker thread). Never raises for a bad path: the answer says what is wrong."""
    path = Path(raw).expanduser()
    result: dict[str, Any] = {
        "path": str(path),
        "exists": False,
        "is_dir": False,
        "readable": False,
        "writable": False,
        "free_bytes": None,
        "total_bytes": None,
        "used_percent": None,
        "filesystem": None,
        "file_events": None,
        "error": None,
    }
    if not path.is_absolute():
        result["error"] = "path must be absolute"
        return result
    try:
        result["exists"] = path.exists()
        result["is_dir"] = path.is_dir()
        special = result["exists"] and not result["is_dir"] and not path.is_file()
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        result["error"] = f"cannot stat: {err}"
        return result
    if special:
        # A FIFO or device would block (or do something) when opened: report it, never open it.
        result["error"] = "not a regular file or folder"
        return result
    if not result["exists"]:
        result["error"] = "path does not exist"
        return result
    folder = path if result["is_dir"] else path.parent
    try:
        if result["is_dir"]:
            os.listdir(path)
        else:
            with open(path, "rb") as handle:
                handle.read(1)
        result["readable"] = True
    except OSError as err:
        result["error"] = f"not readable: {err}"
    try:
        fd, name = tempfile.mkstemp(prefix=".streamops-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
        result["writable"] = True
    except OSError as err:
        result["error"] = result["error"] or f"not writable: {err}"
    try:
        usage = psutil.disk_usage(str(folder))
        result.update(free_bytes=usage.free, total_bytes=usage.total, used_percent=round(usage.percent, 1))
    except OSError as err:
        result["error"] = result["error"] or f"cannot read free space: {err}"
    fstype = filesystem_type(folder)
    result["filesystem"] = fstype
    if fstype:
        result["file_events"] = "unlikely (polling will be used)" if fstype.lower() in EVENTLESS_FS else "expected"
    return result
