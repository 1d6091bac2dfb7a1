-- The workflow that posts a run's webhook: the runs of one API request share
-- one (RunWebhooks), which a run-ended signal for any of them wakes. Empty for
-- runs registered before, each of which has a workflow of its own,
-- run-webhook/<run id>.
ALTER TABLE run_webhooks ADD COLUMN workflow_id String;
