-- A webhook's retry mode (internal/delivery): '' is LangSmith's rules, as
-- every row written before has it; 'standard' retries on the Standard
-- Webhooks schedule. It comes from `retry` in the rules file.
ALTER TABLE webhooks ADD COLUMN retry String;

-- Webhooks paused because their receiver answered 410 Gone to a `retry:
-- standard` delivery. A pause holds until the webhook is written again (the
-- rule re-applied with it changed) or the rule is resumed after it.
CREATE TABLE IF NOT EXISTS webhook_pauses
(
    rule_id UUID,
    idx     UInt16,
    at      UInt64,
    reason  String
)
ENGINE = MergeTree
ORDER BY (rule_id, idx, at);
