-- Overlays: the recorder's so_overlays row gets the key generation (keys are derived from a secret
-- in the data dir and the generation, and only their hash is stored; rotating bumps the generation)
-- and the runtime overrides set by overlay.update / show / hide (so they survive a restart).
ALTER TABLE so_overlays ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE so_overlays ADD COLUMN overrides TEXT NOT NULL DEFAULT '{}';
