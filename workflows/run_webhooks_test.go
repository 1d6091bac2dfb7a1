package workflows_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/workflows"
)

// runWebhooksEnv runs RunWebhooks over runs with mocked activities: a run
// reads as stored ended once storedAt (since the start) has passed; a
// negative storedAt never; done runs already have an outcome. A run-ended
// signal comes at each of signals (since the start).
func runWebhooksEnv(t *testing.T, storedAt map[uuid.UUID]time.Duration, done map[uuid.UUID]bool, maxWait time.Duration, signals ...time.Duration) (workflows.RunWebhooksResult, []activities.DeliverInput, []activities.OutcomeInput, []time.Duration) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	var mu sync.Mutex
	var sent []activities.DeliverInput
	var outcomes []activities.OutcomeInput
	var checks []time.Duration
	start := env.Now()
	env.OnActivity(a.CheckRunWebhooks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RunRefs) (activities.RunWebhooksState, error) {
			mu.Lock()
			defer mu.Unlock()
			since := env.Now().Sub(start)
			checks = append(checks, since)
			var st activities.RunWebhooksState
			for _, id := range in.RunIDs {
				switch at := storedAt[id]; {
				case done[id]:
					st.Done = append(st.Done, id)
				case at >= 0 && since >= at:
					st.Ended = append(st.Ended, id)
				default:
					st.Waiting = append(st.Waiting, id)
				}
			}
			return st, nil
		})
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, in)
			return activities.DeliverResult{StatusCode: 200, Recorded: in.Record}, nil
		})
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OutcomeInput) (activities.OutcomeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			outcomes = append(outcomes, in)
			return activities.OutcomeResult{}, nil
		}).Maybe()
	var ids []uuid.UUID
	for id := range storedAt {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	for _, at := range signals {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.RunEndedSignal, nil) }, at)
	}
	env.ExecuteWorkflow(workflows.RunWebhooks, workflows.RunWebhooksInput{RunIDs: ids, MaxWait: maxWait})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.RunWebhooksResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, sent, outcomes, checks
}

// Runs stored ended are posted at once, each its own Deliver under its own
// webhook-id; one stored late is posted when a later look finds it; one
// already done is not posted again.
func TestRunWebhooksPostsEachRunOnce(t *testing.T) {
	now, late, done := uuid.New(), uuid.New(), uuid.New()
	res, sent, outcomes, checks := runWebhooksEnv(t,
		map[uuid.UUID]time.Duration{now: 0, late: 2 * time.Second, done: 0}, map[uuid.UUID]bool{done: true}, time.Hour)
	if res.Delivered != 2 || res.AlreadyDone != 1 || res.GaveUp != 0 || len(sent) != 2 || len(outcomes) != 0 {
		t.Fatalf("result %+v, %d sent, outcomes %+v", res, len(sent), outcomes)
	}
	for _, in := range sent {
		want := workflows.RunWebhookDeliveryID(in.RunWebhookOf)
		if in.DeliveryID != want || len(in.RunIDs) != 1 || in.RunIDs[0] != in.RunWebhookOf || in.RuleID != uuid.Nil || !in.Record {
			t.Errorf("deliver input %+v, want the run alone under %s", in, want)
		}
	}
	if sent[0].RunWebhookOf != now || sent[1].RunWebhookOf != late {
		t.Errorf("sent %v then %v, want the stored run first", sent[0].RunWebhookOf, sent[1].RunWebhookOf)
	}
	if want := []time.Duration{0, time.Second, 3 * time.Second}; !slices.Equal(checks, want) {
		t.Errorf("looks at %v, want %v (backing off)", checks, want)
	}
}

// Runs created still going share the workflow too: the API's run-ended
// signal makes it look at once, instead of at its next backed-off look.
func TestRunWebhooksLooksWhenSignalled(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	res, sent, _, checks := runWebhooksEnv(t,
		map[uuid.UUID]time.Duration{a: 4 * time.Second, b: 20 * time.Second}, nil, time.Hour,
		4500*time.Millisecond, 20*time.Second)
	if res.Delivered != 2 || len(sent) != 2 || sent[0].RunWebhookOf != a || sent[1].RunWebhookOf != b {
		t.Fatalf("result %+v, sent %+v", res, sent)
	}
	// Backed-off looks at 0, 1 and 3 s (the next due at 7 s); the signal at
	// 4.5 s; the backed-off look 8 s later; the signal at 20 s, before the
	// look due at 28.5 s.
	want := []time.Duration{0, time.Second, 3 * time.Second, 4500 * time.Millisecond, 12500 * time.Millisecond, 20 * time.Second}
	if !slices.Equal(checks, want) {
		t.Errorf("looks at %v, want %v", checks, want)
	}
}

// A run whose write never becomes visible is given up at MaxWait, recorded
// failed with nothing sent; the others are posted.
func TestRunWebhooksGivesUpAtMaxWait(t *testing.T) {
	ok, lost := uuid.New(), uuid.New()
	res, sent, outcomes, _ := runWebhooksEnv(t, map[uuid.UUID]time.Duration{ok: 0, lost: -1}, nil, time.Minute)
	if res.Delivered != 1 || res.GaveUp != 1 || len(sent) != 1 || sent[0].RunWebhookOf != ok {
		t.Fatalf("result %+v, sent %+v", res, sent)
	}
	if len(outcomes) != 1 || len(outcomes[0].RunIDs) != 1 || outcomes[0].RunIDs[0] != lost || outcomes[0].Delivered || outcomes[0].Reason == "" {
		t.Errorf("outcomes %+v, want the lost run recorded failed", outcomes)
	}
}

func TestRunWebhooksIDIsTheSetOfRuns(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	if workflows.RunWebhooksID([]uuid.UUID{a, b}) != workflows.RunWebhooksID([]uuid.UUID{b, a}) {
		t.Error("the ID depends on the order of the runs")
	}
	if workflows.RunWebhooksID([]uuid.UUID{a, b}) == workflows.RunWebhooksID([]uuid.UUID{a}) {
		t.Error("different sets of runs share an ID")
	}
}
