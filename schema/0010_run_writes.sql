-- Every run write the API took, as it was sent: a run's stored version is the
-- fold of its writes (runs.Fold), so that several API servers can take writes
-- of one run at once without a lock. A server logs its writes, reads the
-- run's log back by the sort key, and stores the fold; the fold of the most
-- writes has the greatest modified_at and wins. kind: 0 create, 1 patch,
-- 2 base (a version stored without a log, whose writes fold over it). Two
-- servers may log the same base: the key makes it one row, and readers
-- count it once. Month partitions, dropped with the runs (retention).
CREATE TABLE IF NOT EXISTS run_writes
(
    run_id      UUID,
    received_at UInt64,
    request_id  UUID,
    seq         UInt32,
    kind        UInt8,
    body        String,
    inserted_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(inserted_at)
ORDER BY (run_id, received_at, request_id, seq)
SETTINGS index_granularity = 256;
