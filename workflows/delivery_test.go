package workflows_test

import (
	"context"
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

func deliveryInput() workflows.DeliveryInput {
	return workflows.DeliveryInput{
		DeliveryID: "rule-x/2024-04-05T01:28:56Z/0/0",
		Batch: activities.Batch{RuleID: uuid.New(), WindowStart: time.Unix(1712280534, 0), WindowEnd: time.Unix(1712280536, 0),
			RunIDs: []uuid.UUID{uuid.New(), uuid.New()}},
	}
}

// attemptErr is what the Deliver activity returns for a failed attempt.
func attemptErr(c delivery.Class) error {
	return temporal.NewApplicationErrorWithOptions(string(c)+": receiver said no", string(c),
		temporal.ApplicationErrorOptions{NonRetryable: !c.Retryable()})
}

// run executes the Delivery workflow with Deliver answering from script (one
// entry per attempt; the last repeats) and returns the result, how many
// attempts were made, and the outcome recorded.
func run(t *testing.T, script ...error) (workflows.DeliveryResult, int, activities.OutcomeInput) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	attempts := 0
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			err := script[min(attempts, len(script)-1)]
			attempts++
			if err != nil {
				return activities.DeliverResult{}, err
			}
			return activities.DeliverResult{StatusCode: 200}, nil
		})
	var recorded activities.OutcomeInput
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OutcomeInput) (activities.OutcomeResult, error) {
			recorded = in
			return activities.OutcomeResult{}, nil
		})
	env.ExecuteWorkflow(workflows.Delivery, deliveryInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, attempts, recorded
}

func TestDeliveryRules(t *testing.T) {
	for _, tc := range []struct {
		name      string
		script    []error
		attempts  int
		delivered bool
		class     delivery.Class
	}{
		{"2xx delivered at once", []error{nil}, 1, true, delivery.Delivered},
		{"5xx retried twice then failed", []error{attemptErr(delivery.ServerError)}, 3, false, delivery.ServerError},
		{"503 then 200", []error{attemptErr(delivery.ServerError), nil}, 2, true, delivery.Delivered},
		{"connect failure retried twice", []error{attemptErr(delivery.ConnectError)}, 3, false, delivery.ConnectError},
		{"connect failure then 200", []error{attemptErr(delivery.ConnectError), attemptErr(delivery.ConnectError), nil}, 3, true, delivery.Delivered},
		{"timeout not retried", []error{attemptErr(delivery.Timeout)}, 1, false, delivery.Timeout},
		{"4xx not retried", []error{attemptErr(delivery.ClientError)}, 1, false, delivery.ClientError},
		{"3xx not retried", []error{attemptErr(delivery.Redirect)}, 1, false, delivery.Redirect},
		{"refused not retried", []error{attemptErr(delivery.Refused)}, 1, false, delivery.Refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, attempts, recorded := run(t, tc.script...)
			if attempts != tc.attempts || res.Delivered != tc.delivered || res.Class != string(tc.class) {
				t.Errorf("attempts %d delivered %v class %s; want %d %v %s", attempts, res.Delivered, res.Class, tc.attempts, tc.delivered, tc.class)
			}
			if recorded.Delivered != tc.delivered || len(recorded.RunIDs) != 2 {
				t.Errorf("recorded %+v", recorded)
			}
			if !tc.delivered && recorded.Reason == "" {
				t.Error("failure recorded without a reason")
			}
		})
	}
}

// The retry policy is where the documented rules live; pin it.
func TestDeliveryRetryPolicy(t *testing.T) {
	p := workflows.DeliveryRetryPolicy(workflows.RetrySettings{})
	if p.MaximumAttempts != 3 || p.InitialInterval != time.Second || p.BackoffCoefficient != 2 {
		t.Errorf("default policy %+v", p)
	}
	want := map[string]bool{"timeout": true, "client_error": true, "redirect": true, "refused": true, "invalid": true}
	if len(p.NonRetryableErrorTypes) != len(want) {
		t.Errorf("non-retryable types %v", p.NonRetryableErrorTypes)
	}
	for _, typ := range p.NonRetryableErrorTypes {
		if !want[typ] {
			t.Errorf("unexpected non-retryable type %s", typ)
		}
	}
	p = workflows.DeliveryRetryPolicy(workflows.RetrySettings{InitialInterval: 250 * time.Millisecond, BackoffCoefficient: 3})
	if p.InitialInterval != 250*time.Millisecond || p.BackoffCoefficient != 3 {
		t.Errorf("configured policy %+v", p)
	}
}
