-- Windows read a range, lookups by id read a key, and every table with a time
-- column that grows with traffic is partitioned by day, so that retention
-- (internal/retention) drops whole days. 18.16 cannot change a table's sort
-- key, partitioning or granularity in place, so each such table is rebuilt:
-- filled into <name>_next from the old table (the migrator empties a _next
-- table before filling it, so a fill cut short by a crash is redone whole),
-- swapped in by RENAME (the migrator skips a rename already done), and the old
-- table dropped. Writers are stopped while this migration runs (README,
-- "Upgrading"): a row written between a table's fill and its swap is not copied.

-- The views that feed tables from runs, feedback and delivery_outcomes are
-- made again at the end, on the rebuilt tables (a current ClickHouse binds a
-- view to its source table itself, not to its name).
DROP TABLE IF EXISTS run_arrivals_mv;
DROP TABLE IF EXISTS feedback_arrivals_mv;
DROP TABLE IF EXISTS delivery_ends_mv;
DROP TABLE IF EXISTS run_keys_mv;
DROP TABLE IF EXISTS feedback_keys_mv;

-- runs: day partitions by server insertion time (a client's start_time could
-- be any date), sorted by day then id in granules of 256 rows. A lookup by id
-- reads run_keys for the ids' days and then (day, id) pairs of this sort key:
-- 256 rows per part of those days, where release 8 read 8,192 rows per part of
-- the whole table. The day leads the sort key because 18.16 prunes parts by a
-- set of tuples of the sort key, but not partitions by a set of days.
CREATE TABLE IF NOT EXISTS runs_next
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
    inserted_at          DateTime DEFAULT now(),
    metadata_keys        Array(String),
    metadata_values      Array(String),
    input_keys           Array(String),
    input_values         Array(String),
    output_keys          Array(String),
    output_values        Array(String),
    size_base            UInt32,
    size_inputs          UInt32,
    size_inputs_inline   Int32,
    size_outputs         UInt32,
    size_outputs_inline  Int32
)
ENGINE = ReplacingMergeTree(modified_at)
PARTITION BY toYYYYMMDD(inserted_at)
ORDER BY (toDate(inserted_at), id)
SETTINGS index_granularity = 256;

INSERT INTO runs_next (id, trace_id, session_id, tenant_id, parent_run_id, reference_example_id, name, run_type,
    status, is_root, dotted_order, start_time, end_time, modified_at, first_token_time,
    last_queued_at, parent_run_ids, child_run_ids, direct_child_run_ids, total_tokens,
    prompt_tokens, completion_tokens, total_cost, prompt_cost, completion_cost, app_path,
    in_dataset, tags, error, inputs, outputs, inputs_s3_urls, outputs_s3_urls, extra, events,
    feedback_stats, serialized, share_token, inserted_at, metadata_keys, metadata_values,
    input_keys, input_values, output_keys, output_values, size_base, size_inputs,
    size_inputs_inline, size_outputs, size_outputs_inline)
SELECT id, trace_id, session_id, tenant_id, parent_run_id, reference_example_id, name, run_type,
    status, is_root, dotted_order, start_time, end_time, modified_at, first_token_time,
    last_queued_at, parent_run_ids, child_run_ids, direct_child_run_ids, total_tokens,
    prompt_tokens, completion_tokens, total_cost, prompt_cost, completion_cost, app_path,
    in_dataset, tags, error, inputs, outputs, inputs_s3_urls, outputs_s3_urls, extra, events,
    feedback_stats, serialized, share_token, inserted_at, metadata_keys, metadata_values,
    input_keys, input_values, output_keys, output_values, size_base, size_inputs,
    size_inputs_inline, size_outputs, size_outputs_inline
FROM runs;

RENAME TABLE runs TO runs_0008;

RENAME TABLE runs_next TO runs;

DROP TABLE IF EXISTS runs_0008;

CREATE TABLE IF NOT EXISTS feedback_next
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
PARTITION BY toYYYYMMDD(inserted_at)
ORDER BY (toDate(inserted_at), run_id, id)
SETTINGS index_granularity = 256;

INSERT INTO feedback_next (id, run_id, trace_id, session_id, key, score, value, comment, correction, source,
    created_at, modified_at, inserted_at)
SELECT id, run_id, trace_id, session_id, key, score, value, comment, correction, source,
    created_at, modified_at, inserted_at
FROM feedback;

RENAME TABLE feedback TO feedback_0008;

RENAME TABLE feedback_next TO feedback;

DROP TABLE IF EXISTS feedback_0008;

-- Every run write in arrival order per project, with every column a filter
-- reads except the documents (inputs and outputs, which only search() reads):
-- a rule's window is one range of this sort key, and the filter runs on it.
CREATE TABLE IF NOT EXISTS run_arrivals_next
(
    session_id        UUID,
    inserted_at       DateTime,
    id                UUID,
    modified_at       UInt64,
    trace_id          UUID,
    is_root           UInt8,
    completed         UInt8,
    name              String,
    run_type          String,
    status            String,
    start_time        UInt64,
    end_time          Nullable(UInt64),
    total_tokens      UInt64,
    prompt_tokens     UInt64,
    completion_tokens UInt64,
    total_cost        Nullable(Float64),
    error             Nullable(String),
    tags              Array(String),
    metadata_keys     Array(String),
    metadata_values   Array(String),
    input_keys        Array(String),
    input_values      Array(String),
    output_keys       Array(String),
    output_values     Array(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(inserted_at)
ORDER BY (session_id, inserted_at, id)
SETTINGS index_granularity = 1024;

INSERT INTO run_arrivals_next (session_id, inserted_at, id, modified_at, trace_id, is_root, completed, name,
    run_type, status, start_time, end_time, total_tokens, prompt_tokens, completion_tokens, total_cost, error,
    tags, metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values)
SELECT session_id, inserted_at, id, modified_at, trace_id, is_root, isNotNull(end_time), name,
    run_type, status, start_time, end_time, total_tokens, prompt_tokens, completion_tokens, total_cost, error,
    tags, metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values
FROM runs;

RENAME TABLE run_arrivals TO run_arrivals_0008;

RENAME TABLE run_arrivals_next TO run_arrivals;

DROP TABLE IF EXISTS run_arrivals_0008;

-- Feedback in arrival order per project, with what a feedback filter reads.
-- Feedback stored before its run, with no project given, has the nil UUID.
CREATE TABLE IF NOT EXISTS feedback_arrivals_next
(
    session_id  UUID,
    inserted_at DateTime,
    run_id      UUID,
    id          UUID,
    key         String,
    score       Nullable(Float64),
    value       Nullable(String),
    modified_at UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(inserted_at)
ORDER BY (session_id, inserted_at, run_id)
SETTINGS index_granularity = 1024;

INSERT INTO feedback_arrivals_next (session_id, inserted_at, run_id, id, key, score, value, modified_at)
SELECT ifNull(session_id, toUUID('00000000-0000-0000-0000-000000000000')), inserted_at, run_id, id, key, score,
    value, modified_at
FROM feedback;

RENAME TABLE feedback_arrivals TO feedback_arrivals_0008;

RENAME TABLE feedback_arrivals_next TO feedback_arrivals;

DROP TABLE IF EXISTS feedback_arrivals_0008;

-- Claims are looked up by (rule, run) for the runs a match keeps, in granules
-- of 256. A claim must outlive every window that could read its run again, so
-- claims go by month and are dropped only after the runs (internal/retention).
CREATE TABLE IF NOT EXISTS rule_claims_next
(
    rule_id UUID,
    run_id  UUID,
    owner   String,
    at      UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(at, 1000000)))
ORDER BY (rule_id, run_id)
SETTINGS index_granularity = 256;

INSERT INTO rule_claims_next (rule_id, run_id, owner, at)
SELECT rule_id, run_id, owner, at
FROM rule_claims;

RENAME TABLE rule_claims TO rule_claims_0008;

RENAME TABLE rule_claims_next TO rule_claims;

DROP TABLE IF EXISTS rule_claims_0008;

CREATE TABLE IF NOT EXISTS rule_events_next
(
    rule_id     UUID,
    run_id      UUID,
    event       String,
    reason      String,
    at          UInt64,
    workflow_id String
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000000)))
ORDER BY (rule_id, at, run_id);

INSERT INTO rule_events_next (rule_id, run_id, event, reason, at, workflow_id)
SELECT rule_id, run_id, event, reason, at, workflow_id
FROM rule_events;

RENAME TABLE rule_events TO rule_events_0008;

RENAME TABLE rule_events_next TO rule_events;

DROP TABLE IF EXISTS rule_events_0008;

CREATE TABLE IF NOT EXISTS delivery_attempts_next
(
    delivery_id  String,
    rule_id      UUID,
    webhook_idx  UInt16,
    url_redacted String,
    attempt      UInt32,
    started_at   UInt64,
    duration_us  UInt64,
    class        String,
    status_code  UInt16,
    error        String,
    inserted_at  DateTime DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(intDiv(started_at, 1000000)))
ORDER BY (rule_id, started_at, delivery_id);

INSERT INTO delivery_attempts_next (delivery_id, rule_id, webhook_idx, url_redacted, attempt, started_at,
    duration_us, class, status_code, error, inserted_at)
SELECT delivery_id, rule_id, webhook_idx, url_redacted, attempt, started_at,
    duration_us, class, status_code, error, inserted_at
FROM delivery_attempts;

RENAME TABLE delivery_attempts TO delivery_attempts_0008;

RENAME TABLE delivery_attempts_next TO delivery_attempts;

DROP TABLE IF EXISTS delivery_attempts_0008;

CREATE TABLE IF NOT EXISTS delivery_outcomes_next
(
    rule_id     UUID,
    run_id      UUID,
    webhook_idx UInt16,
    delivery_id String,
    outcome     String,
    reason      String,
    at          UInt64,
    inserted_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(at)
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000000)))
ORDER BY (rule_id, run_id, webhook_idx);

INSERT INTO delivery_outcomes_next (rule_id, run_id, webhook_idx, delivery_id, outcome, reason, at, inserted_at)
SELECT rule_id, run_id, webhook_idx, delivery_id, outcome, reason, at, inserted_at
FROM delivery_outcomes;

RENAME TABLE delivery_outcomes TO delivery_outcomes_0008;

RENAME TABLE delivery_outcomes_next TO delivery_outcomes;

DROP TABLE IF EXISTS delivery_outcomes_0008;

CREATE TABLE IF NOT EXISTS delivery_ends_next
(
    rule_id     UUID,
    at          UInt64,
    delivery_id String,
    delivered   UInt8
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000000)))
ORDER BY (rule_id, at, delivery_id);

INSERT INTO delivery_ends_next (rule_id, at, delivery_id, delivered)
SELECT rule_id, at, delivery_id, delivered
FROM delivery_ends;

RENAME TABLE delivery_ends TO delivery_ends_0008;

RENAME TABLE delivery_ends_next TO delivery_ends;

DROP TABLE IF EXISTS delivery_ends_0008;

-- The days on which each run, and each run's feedback, were written, by id in
-- granules of 256: a lookup by id reads these first, then (day, id) in runs
-- or feedback. Month partitions, dropped after the runs or feedback.
CREATE TABLE IF NOT EXISTS run_keys
(
    id  UUID,
    day Date
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (id, day)
SETTINGS index_granularity = 256;

CREATE TABLE IF NOT EXISTS feedback_keys
(
    run_id UUID,
    day    Date
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (run_id, day)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS run_keys_mv TO run_keys AS
SELECT id, toDate(inserted_at) AS day
FROM runs;

CREATE MATERIALIZED VIEW IF NOT EXISTS feedback_keys_mv TO feedback_keys AS
SELECT run_id, toDate(inserted_at) AS day
FROM feedback;

CREATE MATERIALIZED VIEW IF NOT EXISTS run_arrivals_mv TO run_arrivals AS
SELECT session_id, inserted_at, id, modified_at, trace_id, is_root, isNotNull(end_time) AS completed, name,
    run_type, status, start_time, end_time, total_tokens, prompt_tokens, completion_tokens, total_cost, error,
    tags, metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values
FROM runs;

CREATE MATERIALIZED VIEW IF NOT EXISTS feedback_arrivals_mv TO feedback_arrivals AS
SELECT ifNull(session_id, toUUID('00000000-0000-0000-0000-000000000000')) AS session_id, inserted_at, run_id, id,
    key, score, value, modified_at
FROM feedback;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_ends_mv TO delivery_ends AS
SELECT rule_id, max(at) AS at, delivery_id, max(outcome = 'delivered') AS delivered
FROM delivery_outcomes
WHERE outcome IN ('delivered', 'failed')
GROUP BY rule_id, delivery_id;

INSERT INTO run_keys (id, day)
SELECT DISTINCT id, toDate(inserted_at)
FROM runs;

INSERT INTO feedback_keys (run_id, day)
SELECT DISTINCT run_id, toDate(inserted_at)
FROM feedback;
