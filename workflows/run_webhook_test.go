package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/workflows"
)

// runWebhookEnv runs RunWebhook for one run with mocked activities: the run
// counts as ended once endedAt (time since the start) has passed, and Deliver
// answers with deliverErr.
type runWebhookEnv struct {
	env       *testsuite.TestWorkflowEnvironment
	run       uuid.UUID
	start     time.Time
	checks    []time.Duration // when CheckRunWebhook ran, since the start
	delivered []time.Duration
	deliverIn []activities.DeliverInput
	outcomes  []activities.OutcomeInput
	state     func(since time.Duration) activities.RunWebhookState
}

func newRunWebhookEnv(t *testing.T, endedAt time.Duration, deliverErr error) *runWebhookEnv {
	var s testsuite.WorkflowTestSuite
	e := &runWebhookEnv{env: s.NewTestWorkflowEnvironment(), run: uuid.New()}
	e.env.RegisterWorkflow(workflows.Delivery)
	e.state = func(since time.Duration) activities.RunWebhookState {
		return activities.RunWebhookState{Ended: endedAt >= 0 && since >= endedAt}
	}
	var a *activities.Activities
	e.env.OnActivity(a.CheckRunWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RunRef) (activities.RunWebhookState, error) {
			if in.RunID != e.run {
				t.Errorf("checked run %s", in.RunID)
			}
			since := e.env.Now().Sub(e.start)
			e.checks = append(e.checks, since)
			return e.state(since), nil
		})
	e.env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			e.delivered = append(e.delivered, e.env.Now().Sub(e.start))
			e.deliverIn = append(e.deliverIn, in)
			if deliverErr != nil {
				return activities.DeliverResult{}, deliverErr
			}
			// Deliver records the outcome of the attempt that ends the delivery.
			return activities.DeliverResult{StatusCode: 200, Recorded: in.Record}, nil
		})
	e.env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OutcomeInput) (activities.OutcomeResult, error) {
			e.outcomes = append(e.outcomes, in)
			return activities.OutcomeResult{}, nil
		})
	e.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.RunWebhookID(e.run)})
	e.start = e.env.Now()
	return e
}

func (e *runWebhookEnv) execute(t *testing.T, maxWait time.Duration) workflows.RunWebhookResult {
	t.Helper()
	e.env.ExecuteWorkflow(workflows.RunWebhook, workflows.RunWebhookInput{RunID: e.run, MaxWait: maxWait})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.RunWebhookResult
	if err := e.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// checkDelivered: one Deliver of the run's webhook, under the stable delivery
// ID, asked to record its outcome itself (so the workflow records none).
func (e *runWebhookEnv) checkDelivered(t *testing.T, res workflows.RunWebhookResult) {
	t.Helper()
	if !res.Delivered || res.StatusCode != 200 {
		t.Errorf("result %+v, want delivered", res)
	}
	if len(e.deliverIn) != 1 {
		t.Fatalf("%d deliveries, want 1", len(e.deliverIn))
	}
	in := e.deliverIn[0]
	wantID := "run-webhook/" + e.run.String() + "/delivery"
	if in.RunWebhookOf != e.run || in.RuleID != uuid.Nil || in.DeliveryID != wantID || len(in.RunIDs) != 1 || in.RunIDs[0] != e.run || !in.Record {
		t.Errorf("deliver input %+v", in)
	}
	if len(e.outcomes) != 0 {
		t.Errorf("the workflow recorded %+v; Deliver records it", e.outcomes)
	}
}

func TestRunWebhookEndedAtOnce(t *testing.T) {
	e := newRunWebhookEnv(t, 0, nil)
	res := e.execute(t, time.Hour)
	e.checkDelivered(t, res)
	if len(e.checks) != 1 || e.delivered[0] != 0 {
		t.Errorf("checks at %v, delivered at %v; want one check and delivery at once", e.checks, e.delivered)
	}
}

// A run that ends is found at the next check, the checks backing off 1 s, 2 s, 4 s, ...
func TestRunWebhookEndedByTimer(t *testing.T) {
	e := newRunWebhookEnv(t, 10*time.Second, nil)
	res := e.execute(t, time.Hour)
	e.checkDelivered(t, res)
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second}
	if len(e.checks) != len(want) {
		t.Fatalf("checks at %v, want %v", e.checks, want)
	}
	for i := range want {
		if e.checks[i] != want[i] {
			t.Errorf("checks at %v, want %v", e.checks, want)
			break
		}
	}
}

// The backoff stops growing at 5 minutes.
func TestRunWebhookBackoffCap(t *testing.T) {
	e := newRunWebhookEnv(t, 40*time.Minute, nil)
	e.checkDelivered(t, e.execute(t, time.Hour))
	for i := 1; i < len(e.checks); i++ {
		if gap := e.checks[i] - e.checks[i-1]; gap > 5*time.Minute {
			t.Errorf("checks %v and %v are %s apart", e.checks[i-1], e.checks[i], gap)
		}
	}
	if last := e.delivered[0]; last > 45*time.Minute {
		t.Errorf("delivered at %s, want within 5 min of the end at 40 min", last)
	}
}

// The signal makes the workflow look at once instead of at its next check.
func TestRunWebhookEndedBySignal(t *testing.T) {
	e := newRunWebhookEnv(t, -1, nil)
	signalAt := 3 * time.Minute // between the checks at 127 s and 255 s
	e.env.RegisterDelayedCallback(func() {
		e.state = func(time.Duration) activities.RunWebhookState { return activities.RunWebhookState{Ended: true} }
		e.env.SignalWorkflow(workflows.RunEndedSignal, nil)
		e.env.SignalWorkflow(workflows.RunEndedSignal, nil) // a client retrying: taken together
	}, signalAt)
	res := e.execute(t, time.Hour)
	e.checkDelivered(t, res)
	if e.delivered[0] != signalAt {
		t.Errorf("delivered at %s, want at the signal (%s); checks %v", e.delivered[0], signalAt, e.checks)
	}
}

// A run that never ends gives up at MaxWait: recorded failed, nothing sent.
func TestRunWebhookMaxWait(t *testing.T) {
	e := newRunWebhookEnv(t, -1, nil)
	res := e.execute(t, time.Hour)
	if !res.GaveUp || res.Delivered || len(e.deliverIn) != 0 {
		t.Errorf("result %+v, %d deliveries; want gave up, nothing sent", res, len(e.deliverIn))
	}
	if len(e.outcomes) != 1 {
		t.Fatalf("outcomes %+v", e.outcomes)
	}
	o := e.outcomes[0]
	if o.Delivered || o.Skipped || o.RuleID != uuid.Nil || len(o.RunIDs) != 1 || o.RunIDs[0] != e.run ||
		!strings.Contains(o.Reason, "http.webhook_max_wait (1h0m0s)") {
		t.Errorf("outcome %+v", o)
	}
	if last := e.checks[len(e.checks)-1]; last != time.Hour {
		t.Errorf("last check at %s, want at the deadline", last)
	}
}

// A run whose webhook already has an outcome (an earlier workflow for the
// same run) is not sent again.
func TestRunWebhookAlreadyDone(t *testing.T) {
	e := newRunWebhookEnv(t, 0, nil)
	e.state = func(time.Duration) activities.RunWebhookState {
		return activities.RunWebhookState{Ended: true, Done: true, Outcome: "delivered"}
	}
	res := e.execute(t, time.Hour)
	if !res.AlreadyDone || len(e.deliverIn) != 0 || len(e.outcomes) != 0 {
		t.Errorf("result %+v, %d deliveries, %d outcomes; want nothing done", res, len(e.deliverIn), len(e.outcomes))
	}
}

// Delivery rules are the rule webhooks' own: a 5xx is tried 3 times, then
// failed. This Deliver never records, so the workflow records the failure.
func TestRunWebhookServerErrorRetried(t *testing.T) {
	e := newRunWebhookEnv(t, 0, attemptErr(delivery.ServerError))
	res := e.execute(t, time.Hour)
	if res.Delivered || res.Class != string(delivery.ServerError) || len(e.deliverIn) != 3 {
		t.Errorf("result %+v after %d attempts; want server_error after 3", res, len(e.deliverIn))
	}
	if len(e.outcomes) != 1 || e.outcomes[0].Delivered || e.outcomes[0].Reason == "" {
		t.Errorf("outcomes %+v", e.outcomes)
	}
}
