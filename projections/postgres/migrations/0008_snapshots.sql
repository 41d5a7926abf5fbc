-- Read-model snapshots (issue 14): the elected writer's in-memory folds at
-- one position (projections.WriteSnapshot), so that a newly elected writer
-- restores them and replays only the log after that position instead of
-- the whole log. One snapshot at a time, in chunks (a bytea holds at most
-- 1 GB); rm_snapshot names its position, always at or before the table
-- checkpoint, since the writer takes it after a commit.
CREATE TABLE rm_snapshot (
    id          int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    commit_pos  bigint NOT NULL,
    prepare_pos bigint NOT NULL,
    chunks      int NOT NULL,
    bytes       bigint NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rm_snapshot_chunks (
    seq  int PRIMARY KEY,
    data bytea NOT NULL
);
