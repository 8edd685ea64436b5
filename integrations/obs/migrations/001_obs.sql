-- Files OBS finished writing (the final recording file, every split part, every saved replay),
-- each linked to the so_sessions row of the recording that produced it, so {Game}/{Scene}/{Profile}
-- resolve for a file and for anything derived from it (same stem).
CREATE TABLE IF NOT EXISTS so_obs_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,          -- local path (after obs: path_map)
    stem TEXT NOT NULL,          -- file name without extension, for remuxed/moved copies
    obs_path TEXT,               -- the path as OBS reported it
    kind TEXT NOT NULL,          -- 'recording' | 'replay'
    obs_instance TEXT NOT NULL,
    session_id INTEGER,          -- so_sessions.id (NULL for a replay saved while not recording)
    started REAL,                -- when this file began (epoch seconds), if known
    ended REAL NOT NULL,         -- when OBS closed it
    scene TEXT,
    profile TEXT,
    collection TEXT,
    game TEXT
);
CREATE INDEX IF NOT EXISTS so_obs_files_path ON so_obs_files (path);
CREATE INDEX IF NOT EXISTS so_obs_files_stem ON so_obs_files (stem);
CREATE INDEX IF NOT EXISTS so_obs_files_session ON so_obs_files (session_id);
