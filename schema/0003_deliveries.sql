-- Webhook targets of a rule, one row per version of (rule, position): the row
-- with the greatest updated_at is the current one, and a current row with
-- deleted = 1 means the position is gone. Reads pick that row explicitly
-- (LIMIT 1 BY), so they do not depend on background merges. The URL, headers
-- and signing secret are sealed by internal/secrets (key_id names the key);
-- only url_redacted is ever shown. '' in headers_sealed or
-- signing_secret_sealed means none.
CREATE TABLE IF NOT EXISTS webhooks
(
    rule_id               UUID,
    idx                   UInt16,
    url_sealed            String,
    url_redacted          String,
    headers_sealed        String,
    signing_secret_sealed String,
    key_id                String,
    updated_at            UInt64,
    deleted               UInt8
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (rule_id, idx);

-- Every HTTP attempt of every delivery, kept (not replaced): the audit trail
-- of what was sent where and what came back. class is the sender's
-- vocabulary (delivered, connect_error, timeout, ...); status_code 0 means no
-- response; error is redacted by the caller. Sorted for "a rule's recent
-- attempts". Times in UInt64 microseconds, as everywhere.
CREATE TABLE IF NOT EXISTS delivery_attempts
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
ORDER BY (rule_id, started_at, delivery_id);

-- The final outcome (delivered, failed or skipped) of a run's delivery to one
-- webhook of a rule; a later outcome (greater at) supersedes an earlier one.
-- Sorted by (rule, run, webhook) so the "already delivered?" check for a batch
-- of runs is a few index ranges.
CREATE TABLE IF NOT EXISTS delivery_outcomes
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
ORDER BY (rule_id, run_id, webhook_idx);

-- Pauses and resumptions of rules, in order; the latest row per rule is its
-- state (paused = 1 paused, 0 resumed). failures is the streak that caused an
-- automatic pause.
CREATE TABLE IF NOT EXISTS rule_pauses
(
    rule_id  UUID,
    at       UInt64,
    reason   String,
    failures UInt32,
    paused   UInt8
)
ENGINE = MergeTree
ORDER BY (rule_id, at);
