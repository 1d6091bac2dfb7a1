-- Run-completion webhooks (LangGraph's `webhook` parameter of a run create):
-- the URL a run's one POST goes to when it ends. url_sealed is sealed by
-- internal/secrets, bound to the run (key_id names the key); only
-- url_redacted is ever shown. A client that retries its create writes the
-- row again; the newest created_at wins. Sorted by run_id, so the webhook of
-- a run, and which of a batch of ended runs have one, are key lookups. How
-- the delivery went is in delivery_attempts and delivery_outcomes, under
-- rule_id 00000000-0000-0000-0000-000000000000 (no rule has the nil UUID).
CREATE TABLE IF NOT EXISTS run_webhooks
(
    run_id       UUID,
    url_sealed   String,
    url_redacted String,
    key_id       String,
    created_at   UInt64
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY run_id;
