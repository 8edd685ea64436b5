-- The asset index: one row per media file StreamOps knows, with what ffprobe said about it.
CREATE TABLE IF NOT EXISTS so_assets (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    folder TEXT NOT NULL,
    ext TEXT NOT NULL DEFAULT '',
    drive TEXT,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error TEXT,
    duration REAL,
    container TEXT,
    video_codec TEXT,
    audio_codec TEXT,
    width INTEGER,
    height INTEGER,
    fps REAL,
    bit_rate INTEGER,
    stream_count INTEGER,
    streams TEXT,              -- JSON: ffprobe's streams, trimmed to the useful fields
    xxh64 TEXT,
    sha256 TEXT,
    tags TEXT NOT NULL DEFAULT '[]',   -- JSON list of strings
    sidecar TEXT NOT NULL DEFAULT '',  -- text of a .json/.txt sidecar next to the file
    captions TEXT NOT NULL DEFAULT '', -- text of a .srt/.vtt next to the file (or set by a service)
    created REAL NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS so_assets_xxh64 ON so_assets (xxh64);
CREATE INDEX IF NOT EXISTS so_assets_mtime ON so_assets (mtime);
CREATE INDEX IF NOT EXISTS so_assets_drive ON so_assets (drive, mtime);

-- Full-text search with stemming (so "run" finds "running") over path/name, tags, sidecar, captions.
CREATE VIRTUAL TABLE IF NOT EXISTS so_assets_fts USING fts5 (
    path, name, tags, sidecar, captions,
    content = 'so_assets', content_rowid = 'id',
    tokenize = 'porter unicode61', prefix = '2 3'
);

-- Porter stems the index ("speedrunning" is stored as "speedrun"), so a half-typed word
-- ("speedrunn") finds nothing there. As-you-type search also matches this unstemmed twin over
-- the short fields; prefix indexes keep 2-4 letter prefixes fast.
CREATE VIRTUAL TABLE IF NOT EXISTS so_assets_words USING fts5 (
    path, name, tags,
    content = 'so_assets', content_rowid = 'id',
    tokenize = 'unicode61', prefix = '1 2 3 4'
);

CREATE TRIGGER IF NOT EXISTS so_assets_fts_insert AFTER INSERT ON so_assets BEGIN
    INSERT INTO so_assets_fts (rowid, path, name, tags, sidecar, captions)
        VALUES (new.id, new.path, new.name, new.tags, new.sidecar, new.captions);
    INSERT INTO so_assets_words (rowid, path, name, tags) VALUES (new.id, new.path, new.name, new.tags);
END;

CREATE TRIGGER IF NOT EXISTS so_assets_fts_delete AFTER DELETE ON so_assets BEGIN
    INSERT INTO so_assets_fts (so_assets_fts, rowid, path, name, tags, sidecar, captions)
        VALUES ('delete', old.id, old.path, old.name, old.tags, old.sidecar, old.captions);
    INSERT INTO so_assets_words (so_assets_words, rowid, path, name, tags)
        VALUES ('delete', old.id, old.path, old.name, old.tags);
END;

CREATE TRIGGER IF NOT EXISTS so_assets_fts_update AFTER UPDATE OF path, name, tags, sidecar, captions ON so_assets BEGIN
    INSERT INTO so_assets_fts (so_assets_fts, rowid, path, name, tags, sidecar, captions)
        VALUES ('delete', old.id, old.path, old.name, old.tags, old.sidecar, old.captions);
    INSERT INTO so_assets_fts (rowid, path, name, tags, sidecar, captions)
        VALUES (new.id, new.path, new.name, new.tags, new.sidecar, new.captions);
    INSERT INTO so_assets_words (so_assets_words, rowid, path, name, tags)
        VALUES ('delete', old.id, old.path, old.name, old.tags);
    INSERT INTO so_assets_words (rowid, path, name, tags) VALUES (new.id, new.path, new.name, new.tags);
END;

-- Files derived from an asset (poster, sprite sheet and its index, hover-scrub clip, waveform,
-- proxy): one per kind, the latest wins. Written by the media services via record_derivative().
CREATE TABLE IF NOT EXISTS so_thumbs (
    id INTEGER PRIMARY KEY,
    asset_id INTEGER NOT NULL REFERENCES so_assets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('thumb', 'sprite', 'sprite_index', 'hover', 'waveform', 'proxy')),
    path TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (asset_id, kind)
);
