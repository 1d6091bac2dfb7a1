-- The shape of a webhook's body (internal/payload.Format): '' is LangSmith's,
-- as every row written before has it; 'langgraph' posts each run alone in
-- LangGraph's Run shape. A rule webhook's comes from its `format` in the rules
-- file; a run webhook's from http.webhook_format when the run was created.
ALTER TABLE webhooks ADD COLUMN format String;
ALTER TABLE run_webhooks ADD COLUMN format String;
