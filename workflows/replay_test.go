package workflows_test

import (
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/workflows"
)

// Histories captured from real runs on the Temporal dev server. Replaying
// them fails if a change to a workflow's code would make it take a different
// path through an existing history: the determinism guard for deployments
// with workflows in flight. Child IDs derive from the parent's ID, so each is
// replayed under its original ID.
func TestReplayCapturedHistories(t *testing.T) {
	for _, tc := range []struct{ file, id string }{
		{"testdata/deliver_runs.history.json", "deliver-baf2d4c0-4ac6-41b7-a515-ca0f0686bc4c"},          // 3 batches to 2 webhooks
		{"testdata/deliver_runs_paused.history.json", "deliver-2-d80b7055-3b21-4e68-81e2-9e433495ba89"}, // the failure that paused the rule
		{"testdata/delivery.history.json", "delivery-64f383fa-0d44-4f7b-8409-7043e13c9fcd"},
		// A tick that read its regular window, then a backfill window, and handed runs on.
		{"testdata/rule_tick_backfill.history.json", "rule-4c7f477c-c68c-58da-8157-de39360f0a52/tick-2026-11-23T11:52:50Z"},
		// Since begin-tick: an idle tick (BeginTick alone), one that handed a
		// page on, and one that worked through a backfill window.
		{"testdata/rule_tick_idle.history.json", "rule-594d37e1-60ec-4f65-996d-61daef359799/tick-2026-12-05T01:09:47Z"},
		{"testdata/rule_tick_begin.history.json", "rule-b15f537b-3195-5b6d-b4df-d8844613917c/tick-2026-12-05T01:08:47Z"},
		{"testdata/rule_tick_begin_backfill.history.json", "rule-9bcad3d0-a4bc-4c2a-bb55-22f9992e22f5/tick-2026-12-05T01:15:56Z"},
		// Feedback waits: one run delivered when scored and one skipped at the deadline; one delivered at the deadline.
		{"testdata/feedback_wait_skip.history.json", "rule-2bd1a885-f50f-5011-989e-f0ea357e1419/2026-11-23T11:52:27Z/p0/wait"},
		{"testdata/feedback_wait_deliver.history.json", "rule-3bd32f09-fa04-5af2-a134-5d5d1547202b/2026-11-23T11:52:27Z/p0/wait"},
		// Run webhooks: a run written pending, checked on timers, then signalled
		// ended and posted by its child Delivery; and one that never ended.
		{"testdata/run_webhook_signal.history.json", "run-webhook/2efbebe0-5410-4db2-8d0e-1f63aa5bc21c"},
		{"testdata/run_webhook_delivery.history.json", "run-webhook/2efbebe0-5410-4db2-8d0e-1f63aa5bc21c/delivery"},
		{"testdata/run_webhook_gave_up.history.json", "run-webhook/2bdaff14-3634-4d12-bb4d-b5f25356f2af"},
		// Since deliver-activities: each POST a Deliver activity that records its
		// own outcome. 3 batches to 2 webhooks; a failure recorded by its last
		// attempt; a run webhook signalled and posted; one whose POST failed.
		{"testdata/deliver_runs_activities.history.json", "deliver-f73b2313-4a47-4acc-993f-42c7ecbecf2f"},
		{"testdata/deliver_runs_activities_paused.history.json", "deliver-1-412749ca-ece6-4a15-a3e5-3e902b64e238"},
		{"testdata/run_webhook_activity.history.json", "run-webhook/3ccd7c4d-b72b-4dce-9c2e-bd46a72b36c6"},
		// Two runs written already ended, sharing one RunWebhooks, each posted once.
		{"testdata/run_webhooks.history.json", "run-webhooks/c0f01c54037437ae4f1f0721a2dced40"},
		{"testdata/run_webhook_activity_failed.history.json", "run-webhook/c9ba369f-f79b-4457-92c3-866720c51326"},
		// A run registered pending in a RunWebhooks, looked at on backed-off
		// timers, then at once on the run-ended signal.
		{"testdata/run_webhooks_pending_signal.history.json", "run-webhooks/b3f91ef9f4996b6e90034e5e909299c1"},
		// Since standard-retry: a retry: standard webhook answering 503 with
		// Retry-After, retried on a timer across a worker restart, beside one
		// answering 410; then the next delivery, skipping the paused webhook.
		{"testdata/deliver_runs_standard.history.json", "deliver-standard-f1be9ca5-c091-4c58-b6cf-29e4bc046f54"},
		{"testdata/deliver_runs_standard_gone.history.json", "deliver-standard-2-f1be9ca5-c091-4c58-b6cf-29e4bc046f54"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			workflows.Register(r)
			if err := r.ReplayWorkflowHistoryWithOptions(nil, history, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: tc.id},
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
