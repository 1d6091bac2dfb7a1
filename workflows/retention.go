package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
)

// RetentionInput is what the retention schedule starts each run with.
type RetentionInput struct {
	// Requester names who started it, for the history in the UI.
	Requester string
}

// Retention drops the partitions that config retention.* no longer keeps
// (internal/retention). The runhook-retention schedule starts it hourly; its
// result is counts only.
func Retention(ctx workflow.Context, in RetentionInput) (activities.RetentionResult, error) {
	// A drop unlinks a partition's files; even many are seconds. The next
	// hourly run tries again anyway: a few attempts ride out a brief
	// ClickHouse outage, and a lasting failure shows as a failed run in the
	// UI rather than retrying for ever.
	ctx = activityOptions(ctx, 10*time.Minute, &temporal.RetryPolicy{InitialInterval: 10 * time.Second, MaximumAttempts: 3})
	var a *activities.Activities
	var res activities.RetentionResult
	err := workflow.ExecuteActivity(ctx, a.ApplyRetention, activities.RetentionInput{Now: workflow.Now(ctx)}).Get(ctx, &res)
	return res, err
}
