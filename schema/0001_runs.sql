-- Every version of every run. LangSmith posts a run when it starts and patches
-- it when it ends; each write is a new row and the one with the greatest
-- modified_at supersedes the rest in every read (reads pick it explicitly, so
-- they do not depend on background merges having happened).
-- Timestamps are UInt64 microseconds since the epoch, UTC: 18.16 has no
-- DateTime64, and payloads must reproduce LangSmith's microseconds exactly.
-- JSON documents are kept as sent, in Nullable(String), null kept distinct.
CREATE TABLE IF NOT EXISTS runs
(
    id                   UUID,
    trace_id             UUID,
    session_id           UUID,
    tenant_id            Nullable(UUID),
    parent_run_id        Nullable(UUID),
    reference_example_id Nullable(UUID),
    name                 String,
    run_type             String,
    status               String,
    is_root              UInt8,
    dotted_order         String,
    start_time           UInt64,
    end_time             Nullable(UInt64),
    modified_at          UInt64,
    first_token_time     Nullable(UInt64),
    last_queued_at       Nullable(UInt64),
    parent_run_ids       Array(UUID),
    child_run_ids        Nullable(String),
    direct_child_run_ids Nullable(String),
    total_tokens         UInt64,
    prompt_tokens        UInt64,
    completion_tokens    UInt64,
    total_cost           Nullable(Float64),
    prompt_cost          Nullable(Float64),
    completion_cost      Nullable(Float64),
    app_path             Nullable(String),
    in_dataset           UInt8,
    tags                 Array(String),
    error                Nullable(String),
    inputs               Nullable(String),
    outputs              Nullable(String),
    inputs_s3_urls       Nullable(String),
    outputs_s3_urls      Nullable(String),
    extra                Nullable(String),
    events               Nullable(String),
    feedback_stats       Nullable(String),
    serialized           Nullable(String),
    share_token          Nullable(String),
    inserted_at          DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(modified_at)
ORDER BY id;

-- One row per run write, in arrival order per project: rule windows ("completed
-- runs of project P inserted in (a, b]") read a range of this sort key instead
-- of scanning runs.
CREATE TABLE IF NOT EXISTS run_arrivals
(
    session_id  UUID,
    inserted_at DateTime,
    id          UUID,
    trace_id    UUID,
    is_root     UInt8,
    completed   UInt8,
    modified_at UInt64
)
ENGINE = MergeTree
ORDER BY (session_id, inserted_at, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS run_arrivals_mv TO run_arrivals AS
SELECT session_id, inserted_at, id, trace_id, is_root, isNotNull(end_time) AS completed, modified_at
FROM runs;
