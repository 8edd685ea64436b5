-- Free space of each drive, sampled by the reports component (hourly): the state history that the
-- recorder keeps may be purged sooner than a report wants to look back, and a drive whose free
-- space does not change records no state at all.
CREATE TABLE IF NOT EXISTS so_report_disk_samples (
    entity_id TEXT NOT NULL,
    sampled REAL NOT NULL,
    free REAL NOT NULL,
    unit TEXT,
    PRIMARY KEY (entity_id, sampled)
);
CREATE INDEX IF NOT EXISTS so_report_disk_samples_time ON so_report_disk_samples (sampled);
