"""Is some process still writing this file? (the second half of "finished")

On Linux each process's open files are symlinks in `/proc/<pid>/fd`, and `/proc/<pid>/fdinfo/<fd>`
holds the open flags, so "open for writing" is exact: O_WRONLY or O_RDWR. We list pids with psutil
and read only the fdinfo of descriptors that point at a file we care about — psutil's
`open_files()` reads the fdinfo of *every* open file of every process, far slower on a busy desktop.
Elsewhere psutil's `open_files()` has no mode, so any open handle counts as a writer (conservative).

Processes we may not inspect (other users, a host outside the container) make the answer partial:
the caller still relies on the quiet window, which is why that check exists at all.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

_LOGGER = logging.getLogger(__name__)

_O_ACCMODE = 0o3


@dataclass
class OpenCheck:
    writing: set[str] = field(default_factory=set)
    # False when some processes could not be inspected (permission), so "not open" is a best guess.
    complete: bool = True
    supported: bool = True


def _fd_flags(pid: int, fd: str) -> int | None:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        return None
    return None


def _linux(paths: set[str]) -> OpenCheck:
    result = OpenCheck()
    own = os.getpid()
    for pid in psutil.pids():
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            result.complete = False
            continue
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            continue  # exited meanwhile
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target not in paths:
                continue
            flags = _fd_flags(pid, fd)
            if flags is None:
                # Could not read the mode: treat as a writer unless it is our own (read-only) hashing.
                if pid != own:
                    result.writing.add(target)
                continue
            if flags & _O_ACCMODE:
                result.writing.add(target)
    return result


def _generic(paths: set[str]) -> OpenCheck:
    result = OpenCheck()
    own = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == own:
            continue
        try:
            for item in proc.open_files():
                if item.path in paths:
                    mode = getattr(item, "mode", None)
                    if mode is None or mode != "r":
                        result.writing.add(item.path)
        except (psutil.AccessDenied, psutil.ZombieProcess):
            result.complete = False
        except psutil.NoSuchProcess:
            continue
        except Exception:  # psutil on exotic platforms: never let the check kill the watcher
            result.complete = False
    return result


def paths_open_for_writing(paths: Iterable[str]) -> OpenCheck:
    """Which of `paths` (absolute, symlinks resolved) some process holds open for writing.

    Blocking (walks /proc): call it with `asyncio.to_thread`.
    """
    wanted = set(paths)
    if not wanted:
        return OpenCheck()
    try:
        if sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd"):
            return _linux(wanted)
        return _generic(wanted)
    except Exception as err:
        _LOGGER.warning("Open-file check unavailable (%s); relying on the quiet window only", err)
        return OpenCheck(complete=False, supported=False)
