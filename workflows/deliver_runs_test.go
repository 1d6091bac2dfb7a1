package workflows_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/workflows"
)

// runDeliverRuns runs DeliverRuns with a Deliver that delivers and records
// its outcome, unless deliverErr gives the error of every attempt.
func runDeliverRuns(t *testing.T, plan activities.Plan, in workflows.DeliverRunsInput, deliverErr ...error) (workflows.DeliverRunsResult, []activities.DeliverInput, []activities.OutcomeInput) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Delivery)
	var a *activities.Activities
	var mu sync.Mutex
	var sent []activities.DeliverInput
	var outcomes []activities.OutcomeInput
	env.OnActivity(a.PlanDelivery, mock.Anything, mock.Anything).Return(plan, nil)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, in)
			if len(deliverErr) > 0 {
				return activities.DeliverResult{}, deliverErr[0]
			}
			return activities.DeliverResult{StatusCode: 200, Recorded: in.Record}, nil
		})
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OutcomeInput) (activities.OutcomeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			outcomes = append(outcomes, in)
			return activities.OutcomeResult{}, nil
		})
	env.ExecuteWorkflow(workflows.DeliverRuns, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.DeliverRunsResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, sent, outcomes
}

func TestDeliverRunsFansOutBatchesToWebhooks(t *testing.T) {
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	big := uuid.New()
	plan := activities.Plan{Webhooks: []uint16{0, 1}, Batches: [][]uuid.UUID{ids[:2], ids[2:]}, Oversize: []uuid.UUID{big}}
	res, sent, outcomes := runDeliverRuns(t, plan, workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: uuid.New(), RunIDs: append(ids, big)}})
	if res.Deliveries != 4 || res.Delivered != 4 || res.RunsSkipped != 1 || len(sent) != 4 {
		t.Fatalf("result %+v, %d sent", res, len(sent))
	}
	ids2 := map[string]bool{}
	for _, s := range sent {
		ids2[s.DeliveryID] = true
	}
	if len(ids2) != 4 {
		t.Errorf("delivery IDs not distinct: %v", ids2)
	}
	for _, s := range sent {
		if !s.Record {
			t.Errorf("delivery %s does not record its own outcome", s.DeliveryID)
		}
	}
	skipped := 0
	for _, o := range outcomes {
		if o.Skipped {
			skipped++
			if len(o.RunIDs) != 1 || o.RunIDs[0] != big {
				t.Errorf("skipped %v, want only the oversize run", o.RunIDs)
			}
		}
	}
	if skipped != 2 || len(outcomes) != 2 { // once per webhook; the POSTs record their own
		t.Errorf("%d skip records of %d outcomes, want 2 of 2", skipped, len(outcomes))
	}
}

func TestDeliverRunsPausedSendsNothing(t *testing.T) {
	ids := []uuid.UUID{uuid.New()}
	plan := activities.Plan{Webhooks: []uint16{0}, Paused: true, PauseReason: "rule paused: 5 deliveries failed in a row"}
	res, sent, outcomes := runDeliverRuns(t, plan, workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: uuid.New(), RunIDs: ids}})
	if !res.Paused || len(sent) != 0 || res.RunsSkipped != 1 {
		t.Fatalf("result %+v, %d sent", res, len(sent))
	}
	if len(outcomes) != 1 || !outcomes[0].Skipped || outcomes[0].Reason != plan.PauseReason {
		t.Errorf("outcomes %+v", outcomes)
	}
}

// A failed POST whose last attempt recorded the outcome (and paused the
// rule) needs nothing more from the workflow.
func TestDeliverRunsFailureRecordedByDeliver(t *testing.T) {
	ids := []uuid.UUID{uuid.New()}
	plan := activities.Plan{Webhooks: []uint16{0}, Batches: [][]uuid.UUID{ids}}
	recorded := temporal.NewApplicationErrorWithOptions("client_error: 404", string(delivery.ClientError),
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{activities.OutcomeResult{Recorded: true, Paused: true}}})
	res, sent, outcomes := runDeliverRuns(t, plan, workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: uuid.New(), RunIDs: ids}}, recorded)
	if res.Failed != 1 || !res.Paused || len(sent) != 1 || len(outcomes) != 0 {
		t.Errorf("result %+v, %d sent, outcomes %+v", res, len(sent), outcomes)
	}
}

// A POST that no attempt could record (here: every attempt timed out in
// Temporal, as when workers die) is recorded failed by the workflow.
func TestDeliverRunsUnrecordedFailureRecorded(t *testing.T) {
	ids := []uuid.UUID{uuid.New()}
	plan := activities.Plan{Webhooks: []uint16{0}, Batches: [][]uuid.UUID{ids}}
	res, sent, outcomes := runDeliverRuns(t, plan, workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: uuid.New(), RunIDs: ids}},
		attemptErr(delivery.Timeout))
	if res.Failed != 1 || len(sent) != 1 || len(outcomes) != 1 || outcomes[0].Delivered || outcomes[0].Reason == "" {
		t.Errorf("result %+v, %d sent, outcomes %+v", res, len(sent), outcomes)
	}
	if outcomes[0].DeliveryID != sent[0].DeliveryID {
		t.Errorf("recorded under %s, sent as %s", outcomes[0].DeliveryID, sent[0].DeliveryID)
	}
}
