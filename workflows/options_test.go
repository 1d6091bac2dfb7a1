package workflows

import (
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/internal/delivery"
)

// optionsOf runs set in a workflow and returns the activity options it left.
func optionsOf(t *testing.T, set func(workflow.Context) workflow.Context) workflow.ActivityOptions {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var got workflow.ActivityOptions
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		got = workflow.GetActivityOptions(set(ctx))
		return nil
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	return got
}

// The values histories were recorded with: changing one changes running workflows.
func TestActivityOptionsKeepTheirValues(t *testing.T) {
	for name, tc := range map[string]struct {
		set     func(workflow.Context) workflow.Context
		timeout time.Duration
		retry   *temporal.RetryPolicy
	}{
		"storage": {storageOptions, 30 * time.Second, &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute}},
		"deliver default": {func(ctx workflow.Context) workflow.Context { return deliverOptions(ctx, DeliveryInput{}) }, 35 * time.Second,
			&temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3, NonRetryableErrorTypes: delivery.NonRetryable}},
		"deliver configured": {func(ctx workflow.Context) workflow.Context {
			return deliverOptions(ctx, DeliveryInput{HTTPTimeout: 10 * time.Second, Retry: RetrySettings{InitialInterval: 3 * time.Second, BackoffCoefficient: 1.5}})
		}, 40 * time.Second,
			&temporal.RetryPolicy{InitialInterval: 3 * time.Second, BackoffCoefficient: 1.5, MaximumAttempts: 3, NonRetryableErrorTypes: delivery.NonRetryable}},
	} {
		t.Run(name, func(t *testing.T) {
			got := optionsOf(t, tc.set)
			if got.StartToCloseTimeout != tc.timeout || !reflect.DeepEqual(got.RetryPolicy, tc.retry) {
				t.Fatalf("timeout %s, retry %+v; want %s, %+v", got.StartToCloseTimeout, got.RetryPolicy, tc.timeout, tc.retry)
			}
		})
	}
}
