package workflows_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/workflows"
)

// answered is a failed attempt of a retry: standard webhook.
func answered(c delivery.Class, status int, answer activities.StandardAnswer) error {
	return temporal.NewApplicationErrorWithOptions(string(c)+": receiver answered "+strconv.Itoa(status), string(c),
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{answer}})
}

type standardRun struct {
	res      workflows.DeliverRunsResult
	sent     []activities.DeliverInput
	at       []time.Time // workflow time of each attempt
	outcomes []activities.OutcomeInput
}

// runStandard runs DeliverRuns over a plan; webhook 0's attempts answer from
// script (the last repeats), every other webhook's deliver at once. The test
// environment skips timers, and its clock moves by what they would wait.
func runStandard(t *testing.T, plan activities.Plan, script ...error) standardRun {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	var mu sync.Mutex
	var out standardRun
	env.OnActivity(a.PlanDelivery, mock.Anything, mock.Anything).Return(plan, nil)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			mu.Lock()
			defer mu.Unlock()
			out.sent = append(out.sent, in)
			if in.WebhookIndex != 0 {
				return activities.DeliverResult{StatusCode: 200, Recorded: in.Record}, nil
			}
			out.at = append(out.at, env.Now())
			if i := len(out.at) - 1; len(script) > 0 {
				if err := script[min(i, len(script)-1)]; err != nil {
					return activities.DeliverResult{}, err
				}
			}
			return activities.DeliverResult{StatusCode: 200}, nil
		})
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OutcomeInput) (activities.OutcomeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			out.outcomes = append(out.outcomes, in)
			return activities.OutcomeResult{}, nil
		})
	env.ExecuteWorkflow(workflows.DeliverRuns, workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: uuid.New(), RunIDs: plan.Batches[0]}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := env.GetWorkflowResult(&out.res); err != nil {
		t.Fatal(err)
	}
	return out
}

var accelerated = []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}

func standardPlan() activities.Plan {
	return activities.Plan{Webhooks: []uint16{0, 1}, Batches: [][]uuid.UUID{{uuid.New()}}, Standard: []uint16{0}, Schedule: accelerated}
}

// near says whether a gap is the schedule's step within its 10% jitter.
func near(gap, step time.Duration) bool { return gap >= step-step/10 && gap <= step+step/10 }

func TestStandardRetriesOnTheSchedule(t *testing.T) {
	unavailable := answered(delivery.ServerError, 503, activities.StandardAnswer{Retry: true})
	r := runStandard(t, standardPlan(), unavailable, unavailable, nil)
	if len(r.at) != 3 || r.res.Delivered != 2 || r.res.Failed != 0 {
		t.Fatalf("%d attempts, result %+v", len(r.at), r.res)
	}
	for i, step := range accelerated[:2] {
		if gap := r.at[i+1].Sub(r.at[i]); !near(gap, step) {
			t.Errorf("wait before attempt %d: %s, want %s ± 10%%", i+2, gap, step)
		}
	}
	var attempts []int32
	for _, s := range r.sent {
		if s.WebhookIndex == 0 {
			attempts = append(attempts, s.Attempt)
			if !s.Standard || s.Record || s.Since.IsZero() {
				t.Errorf("standard attempt %+v: want Standard, Since, and no Record", s)
			}
		} else if s.Standard || !s.Record {
			t.Errorf("LangSmith webhook sent as %+v", s)
		}
	}
	if want := []int32{1, 2, 3}; !slices.Equal(attempts, want) {
		t.Errorf("attempt numbers %v, want %v", attempts, want)
	}
	// The standard delivery records its one outcome; the other recorded its own.
	if len(r.outcomes) != 1 || !r.outcomes[0].Delivered || r.outcomes[0].WebhookIndex != 0 {
		t.Errorf("outcomes %+v", r.outcomes)
	}
}

func TestStandardHonoursRetryAfter(t *testing.T) {
	busy := answered(delivery.ClientError, 429, activities.StandardAnswer{Retry: true, RetryAfter: 90 * time.Second})
	r := runStandard(t, standardPlan(), busy, nil)
	if len(r.at) != 2 || r.res.Delivered != 2 {
		t.Fatalf("%d attempts, result %+v", len(r.at), r.res)
	}
	if gap := r.at[1].Sub(r.at[0]); gap != 90*time.Second {
		t.Errorf("waited %s after Retry-After: 90, want 90s", gap)
	}
}

func TestStandardGivesUpAfterTheSchedule(t *testing.T) {
	r := runStandard(t, standardPlan(), answered(delivery.ConnectError, 0, activities.StandardAnswer{Retry: true}))
	if len(r.at) != len(accelerated)+1 || r.res.Failed != 1 {
		t.Fatalf("%d attempts, result %+v; want %d attempts and a failure", len(r.at), r.res, len(accelerated)+1)
	}
	if len(r.outcomes) != 1 || r.outcomes[0].Delivered || !strings.Contains(r.outcomes[0].Reason, "after 4 attempts") {
		t.Errorf("outcomes %+v", r.outcomes)
	}
}

func TestStandardGoneStops(t *testing.T) {
	gone := answered(delivery.ClientError, 410, activities.StandardAnswer{Gone: true})
	r := runStandard(t, standardPlan(), gone)
	if len(r.at) != 1 || r.res.Failed != 1 || r.res.Delivered != 1 {
		t.Fatalf("%d attempts, result %+v", len(r.at), r.res)
	}
	if len(r.outcomes) != 1 || r.outcomes[0].Delivered || !strings.Contains(r.outcomes[0].Reason, "410") {
		t.Errorf("outcomes %+v", r.outcomes)
	}
}

// A webhook a 410 paused is skipped with the pause's reason, and not sent.
func TestStandardPausedWebhookSkipped(t *testing.T) {
	plan := activities.Plan{Webhooks: []uint16{1}, Batches: [][]uuid.UUID{{uuid.New()}},
		Gone: []activities.GoneWebhook{{Index: 0, Reason: "webhook 0 paused: its receiver answered 410 Gone"}}}
	r := runStandard(t, plan)
	if len(r.at) != 0 || r.res.Delivered != 1 {
		t.Fatalf("%d attempts to the paused webhook, result %+v", len(r.at), r.res)
	}
	if len(r.outcomes) != 1 || !r.outcomes[0].Skipped || r.outcomes[0].WebhookIndex != 0 || r.outcomes[0].Reason != plan.Gone[0].Reason {
		t.Errorf("outcomes %+v", r.outcomes)
	}
}
