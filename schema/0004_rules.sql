-- Flattened key/value pairs of a run's extra.metadata, inputs and outputs,
-- computed at ingest (internal/filter.Flatten): 18.16 has no JSON functions,
-- and the filter language's metadata_key/metadata_value (and input_*,
-- output_*) conditions test one pair at a time (arrayExists over both arrays).
ALTER TABLE runs ADD COLUMN metadata_keys Array(String);
ALTER TABLE runs ADD COLUMN metadata_values Array(String);
ALTER TABLE runs ADD COLUMN input_keys Array(String);
ALTER TABLE runs ADD COLUMN input_values Array(String);
ALTER TABLE runs ADD COLUMN output_keys Array(String);
ALTER TABLE runs ADD COLUMN output_values Array(String);

-- Feedback in arrival order: a run whose feedback is stored in a rule's window
-- enters that window, so a filter on feedback catches runs scored after they
-- ended. A range of this sort key per window.
CREATE TABLE IF NOT EXISTS feedback_arrivals
(
    inserted_at DateTime,
    run_id      UUID,
    key         String
)
ENGINE = MergeTree
ORDER BY (inserted_at, run_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS feedback_arrivals_mv TO feedback_arrivals AS
SELECT inserted_at, run_id, key
FROM feedback;

-- Rules as applied by `starter rules apply`, one row per version; the greatest
-- updated_at is current and deleted = 1 means gone. spec is the rule's JSON
-- without its webhooks (those are sealed in webhooks); fingerprint is a keyed
-- hash of the whole rule, secrets included, so an unchanged rule is known
-- without storing or comparing plaintext.
CREATE TABLE IF NOT EXISTS rules
(
    rule_id     UUID,
    name        String,
    spec        String,
    fingerprint String,
    created_at  UInt64,
    updated_at  UInt64,
    deleted     UInt8
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY rule_id;

-- The at-most-once record: a run claimed for a rule is never handed to that
-- rule's delivery again. owner is the tick page that claimed it, so a retried
-- claim finds its own rows and hands on the same runs.
CREATE TABLE IF NOT EXISTS rule_claims
(
    rule_id UUID,
    run_id  UUID,
    owner   String,
    at      UInt64
)
ENGINE = MergeTree
ORDER BY (rule_id, run_id);

-- What happened to each run for a rule before delivery (matched, waiting,
-- ready, timed_out), for `starter rules logs`; delivery outcomes are in
-- delivery_outcomes.
CREATE TABLE IF NOT EXISTS rule_events
(
    rule_id     UUID,
    run_id      UUID,
    event       String,
    reason      String,
    at          UInt64,
    workflow_id String
)
ENGINE = MergeTree
ORDER BY (rule_id, at, run_id);

-- Backfill requests and their progress: done_upto advances as the rule's
-- ticks hand windows of (from_at, to_at] on. Latest updated_at per
-- (rule, backfill) is current.
CREATE TABLE IF NOT EXISTS rule_backfills
(
    rule_id      UUID,
    backfill_id  String,
    from_at      DateTime,
    to_at        DateTime,
    done_upto    DateTime,
    requested_at UInt64,
    updated_at   UInt64
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (rule_id, backfill_id);
