-- The job journal: every job the queue runs, so a restart (even after kill -9) knows what was in flight.
CREATE TABLE so_jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    type           TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'paused', 'done', 'error', 'canceled')),
    priority       INTEGER NOT NULL DEFAULT 0,          -- higher runs first
    params         TEXT    NOT NULL DEFAULT '{}',       -- JSON
    result         TEXT,                                -- JSON, once done
    error          TEXT,                                -- last error message
    progress       REAL,                                -- percent 0..100 (NULL: unknown)
    speed          REAL,                                -- e.g. ffmpeg speed factor (2.5 = 2.5x realtime)
    eta            REAL,                                -- seconds left
    message        TEXT,                                -- last progress message
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_retries    INTEGER NOT NULL DEFAULT 0,
    next_run_at    REAL,                                -- not before (backoff, active hours)
    blocked_reason TEXT,                                -- why it is waiting or paused
    resource       TEXT    NOT NULL DEFAULT 'cpu',      -- concurrency class: io | cpu | gpu
    heavy          INTEGER NOT NULL DEFAULT 1,          -- subject to guardrails
    guardrails     TEXT,                                -- JSON per-job guardrail overrides
    dedupe_key     TEXT,
    worker         TEXT,                                -- "host:pid" of the hub running it (NULL when not running)
    pids           TEXT,                                -- JSON [[pid, create_time], ...] of attached processes
    request        TEXT,                                -- cancel | pause | resume, handed to the running hub by the CLI
    user_paused    INTEGER NOT NULL DEFAULT 0,          -- paused by a person (survives restart), not by a guardrail
    depends_on     INTEGER,
    created        REAL    NOT NULL,
    started        REAL,
    finished       REAL,
    updated        REAL    NOT NULL
);
CREATE INDEX so_jobs_queue ON so_jobs (status, priority DESC, id);
CREATE INDEX so_jobs_dedupe ON so_jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX so_jobs_request ON so_jobs (request) WHERE request IS NOT NULL;
CREATE INDEX so_jobs_depends ON so_jobs (depends_on) WHERE depends_on IS NOT NULL;
