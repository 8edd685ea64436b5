-- Core schema owned by the recorder: history, traces, tokens, settings, and the architecture tables
-- no other component owns (sessions, rules, overlays, reports). JSON columns hold TEXT written by
-- json.dumps. Timestamps are REAL seconds since the epoch (UTC), like State.last_changed.
-- Jobs and assets create their own tables (so_jobs, so_assets, so_assets_fts, so_thumbs).

-- State history: one row per recorded state change. state_id is assigned by the recorder (it is the
-- only writer), so a batch knows each row's id before it is written and so_states_current can point
-- at the latest row of every entity in the same transaction.
CREATE TABLE so_states (
    state_id INTEGER PRIMARY KEY,
    entity_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    last_changed REAL NOT NULL,
    last_updated REAL NOT NULL,
    context_id TEXT
);
CREATE INDEX ix_so_states_entity_updated ON so_states (entity_id, last_updated);
CREATE INDEX ix_so_states_updated ON so_states (last_updated);

-- Latest recorded state of every entity still present: what start-up restores, and what purge
-- never deletes. A removed entity loses its row here (its history stays until purged).
CREATE TABLE so_states_current (
    entity_id TEXT PRIMARY KEY,
    state_id INTEGER NOT NULL
);

-- Event history (every event except state_changed, which lives in so_states, and the excluded ones).
CREATE TABLE so_events (
    event_id INTEGER PRIMARY KEY,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    origin TEXT NOT NULL DEFAULT 'LOCAL',
    time_fired REAL NOT NULL,
    context_id TEXT
);
CREATE INDEX ix_so_events_time ON so_events (time_fired);
CREATE INDEX ix_so_events_type_time ON so_events (event_type, time_fired);

-- Automation traces: the last N runs of each automation (N chosen by the caller of save_trace).
CREATE TABLE so_traces (
    id INTEGER PRIMARY KEY,
    automation_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    state TEXT NOT NULL,
    trigger TEXT,
    trace TEXT,
    error TEXT,
    UNIQUE (automation_id, run_id)
);
CREATE INDEX ix_so_traces_automation_started ON so_traces (automation_id, started);

-- API tokens (only hashes are stored). kind: owner | user | overlay. Used by the http component.
CREATE TABLE so_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'user',
    created REAL NOT NULL,
    last_used REAL,
    revoked INTEGER NOT NULL DEFAULT 0
);

-- Settings changed in the UI (value is JSON). An explicit YAML value still wins over these.
CREATE TABLE so_configs (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated REAL NOT NULL
);

-- OBS recording sessions: what was recorded, where, with which scene/profile/game, plus markers.
CREATE TABLE so_sessions (
    id INTEGER PRIMARY KEY,
    obs_instance TEXT NOT NULL DEFAULT 'default',
    started REAL NOT NULL,
    ended REAL,
    output_path TEXT,
    scene TEXT,
    profile TEXT,
    collection TEXT,
    game TEXT,
    markers TEXT NOT NULL DEFAULT '[]',
    metrics TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_so_sessions_instance_started ON so_sessions (obs_instance, started);
CREATE INDEX ix_so_sessions_output_path ON so_sessions (output_path);

-- Rules in the original blueprint's format (name/enabled/priority/when/do), body kept as JSON.
CREATE TABLE so_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    priority INTEGER NOT NULL DEFAULT 0,
    source_file TEXT,
    body TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_so_rules_priority ON so_rules (enabled, priority);

-- Overlays and their honest impression log (one row per overlay, item and local day).
CREATE TABLE so_overlays (
    name TEXT PRIMARY KEY,
    manifest TEXT NOT NULL DEFAULT '{}',
    key_hash TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    updated REAL NOT NULL
);

CREATE TABLE so_overlay_impressions (
    overlay TEXT NOT NULL,
    item TEXT NOT NULL,
    day TEXT NOT NULL,
    shows INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    first_shown REAL,
    last_shown REAL,
    PRIMARY KEY (overlay, item, day)
);
CREATE INDEX ix_so_overlay_impressions_day ON so_overlay_impressions (day);

-- Generated reports (weekly sponsor report, session summaries, ...).
CREATE TABLE so_reports (
    id INTEGER PRIMARY KEY,
    period_start REAL NOT NULL,
    period_end REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);
CREATE INDEX ix_so_reports_kind_period ON so_reports (kind, period_start);
