-- Files the drive watcher has already reported as closed, so a restart (or a rescan) never
-- reports the same finished file twice. A file that changes (new size or mtime) is reported again.
CREATE TABLE IF NOT EXISTS so_drive_files (
    path TEXT PRIMARY KEY,
    drive TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    closed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS so_drive_files_drive ON so_drive_files (drive);
