"""Which finished files were already reported (table `so_drive_files`), so none is reported twice.

Keyed by path with its size and mtime: the same path with a new size or mtime is a new file (a
recording overwritten under the same name) and is reported again. The rows are mirrored in memory
per drive so the hot path (thousands of files at once) never waits on a query per file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from streamops.recorder.database import Database


class HandledStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.handled: dict[str, tuple[int, int]] = {}

    async def load(self) -> None:
        rows = await self._db.fetchall("SELECT path, size, mtime_ns FROM so_drive_files")
        self.handled = {row["path"]: (row["size"], row["mtime_ns"]) for row in rows}

    def is_handled(self, path: str, size: int, mtime_ns: int) -> bool:
        return self.handled.get(path) == (size, mtime_ns)

    async def mark(self, drive: str, files: Iterable[tuple[str, int, int]]) -> None:
        """Record files as reported. Memory first (so a concurrent caller sees them at once), then the
        database; if the write fails, memory is rolled back so the files are reported later, not lost."""
        rows = [(path, drive, size, mtime_ns, time.time()) for path, size, mtime_ns in files]
        previous = {path: self.handled.get(path) for path, *_rest in rows}
        for path, _drive, size, mtime_ns, _at in rows:
            self.handled[path] = (size, mtime_ns)
        if not rows:
            return
        try:
            await self._db.executemany(
                "INSERT INTO so_drive_files (path, drive, size, mtime_ns, closed_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET drive = excluded.drive, size = excluded.size,"
                " mtime_ns = excluded.mtime_ns, closed_at = excluded.closed_at",
                rows,
            )
        except BaseException:
            for path, old in previous.items():
                if old is None:
                    self.handled.pop(path, None)
                else:
                    self.handled[path] = old
            raise

    async def forget_missing(self, drive: str, root: str, present: set[str]) -> int:
        """After a complete scan of a mounted drive: drop rows of files that no longer exist."""
        prefix = root.rstrip("/") + "/"
        gone = [path for path in self.handled if path.startswith(prefix) and path not in present]
        for path in gone:
            del self.handled[path]
        if gone:
            await self._db.executemany("DELETE FROM so_drive_files WHERE path = ?", [(path,) for path in gone])
        return len(gone)
