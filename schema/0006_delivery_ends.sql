-- One row per delivery (per insert of its outcomes) that delivered or failed
-- something, in time order per rule. A rule's failure streak is its newest
-- deliveries, read as ranges of this sort key going back only as far as the
-- newest delivered one (ConsecutiveFailedDeliveries), where delivery_outcomes,
-- ordered by run, would be read whole.
CREATE TABLE IF NOT EXISTS delivery_ends
(
    rule_id     UUID,
    at          UInt64,
    delivery_id String,
    delivered   UInt8
)
ENGINE = ReplacingMergeTree
ORDER BY (rule_id, at, delivery_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_ends_mv TO delivery_ends AS
SELECT rule_id, max(at) AS at, delivery_id, max(outcome = 'delivered') AS delivered
FROM delivery_outcomes
WHERE outcome IN ('delivered', 'failed')
GROUP BY rule_id, delivery_id;

-- Outcomes written before the view. Run again after an interruption it writes
-- the same rows again, which reads group by delivery_id and merges collapse.
INSERT INTO delivery_ends (rule_id, at, delivery_id, delivered)
SELECT rule_id, max(at), delivery_id, max(outcome = 'delivered')
FROM delivery_outcomes
WHERE outcome IN ('delivered', 'failed')
GROUP BY rule_id, delivery_id;
