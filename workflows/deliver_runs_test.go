package workflows_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/workflows"
)

func runDeliverRuns(t *testing.T, plan activities.Plan, in workflows.DeliverRunsInput) (workflows.DeliverRunsResult, []activities.DeliverInput, []activities.OutcomeInput) {
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
			return activities.DeliverResult{StatusCode: 200}, nil
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
	res, sent, outcomes := runDeliverRuns(t, plan, workflows.DeliverRunsInput{RuleID: uuid.New(), RunIDs: append(ids, big)})
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
	skipped := 0
	for _, o := range outcomes {
		if o.Skipped {
			skipped++
			if len(o.RunIDs) != 1 || o.RunIDs[0] != big {
				t.Errorf("skipped %v, want only the oversize run", o.RunIDs)
			}
		}
	}
	if skipped != 2 { // once per webhook
		t.Errorf("%d skip records, want 2", skipped)
	}
}

func TestDeliverRunsPausedSendsNothing(t *testing.T) {
	ids := []uuid.UUID{uuid.New()}
	plan := activities.Plan{Webhooks: []uint16{0}, Paused: true, PauseReason: "rule paused: 5 deliveries failed in a row"}
	res, sent, outcomes := runDeliverRuns(t, plan, workflows.DeliverRunsInput{RuleID: uuid.New(), RunIDs: ids})
	if !res.Paused || len(sent) != 0 || res.RunsSkipped != 1 {
		t.Fatalf("result %+v, %d sent", res, len(sent))
	}
	if len(outcomes) != 1 || !outcomes[0].Skipped || outcomes[0].Reason != plan.PauseReason {
		t.Errorf("outcomes %+v", outcomes)
	}
}
