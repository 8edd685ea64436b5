-- Jobs handed to remote workers over NATS: who ran which attempt, and the first result per attempt
-- (a redelivered job may report twice; only the first final result of (job_id, attempt) counts).
CREATE TABLE so_remote_jobs (
    job_id      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    seq         INTEGER,                              -- JetStream sequence of the job message
    worker      TEXT,                                 -- name of the worker that ran (or runs) it
    status      TEXT    NOT NULL DEFAULT 'dispatched'
                CHECK (status IN ('dispatched', 'running', 'done', 'error', 'rejected')),
    result      TEXT,                                 -- JSON, once done
    error       TEXT,
    retry       INTEGER,                              -- an error the hub may retry
    deliveries  INTEGER NOT NULL DEFAULT 0,           -- how often JetStream delivered it (redeliveries)
    dispatched  REAL    NOT NULL,
    started     REAL,
    finished    REAL,
    PRIMARY KEY (job_id, attempt)
);
CREATE INDEX so_remote_jobs_worker ON so_remote_jobs (worker, finished);
