-- Feedback on runs, latest modified_at wins per id. Sorted by run so the
-- feedback of a batch of runs is a few index ranges.
CREATE TABLE IF NOT EXISTS feedback
(
    id          UUID,
    run_id      UUID,
    trace_id    Nullable(UUID),
    session_id  Nullable(UUID),
    key         String,
    score       Nullable(Float64),
    value       Nullable(String),
    comment     Nullable(String),
    correction  Nullable(String),
    source      Nullable(String),
    created_at  UInt64,
    modified_at UInt64,
    inserted_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(modified_at)
ORDER BY (run_id, id);
