package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// activityOptions gives the context's activities an attempt timeout and a
// retry policy: the two options every runhook workflow sets. Histories
// recorded their values, so a change here changes running workflows.
func activityOptions(ctx workflow.Context, timeout time.Duration, retry *temporal.RetryPolicy) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: timeout, RetryPolicy: retry})
}

// storageTimeout bounds one attempt of a short ClickHouse read or write, so
// a dead worker's task is retried soon.
const storageTimeout = 30 * time.Second

// storageRetry retries storage trouble until it passes.
func storageRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute}
}

// storageOptions are for short ClickHouse reads and writes.
func storageOptions(ctx workflow.Context) workflow.Context {
	return activityOptions(ctx, storageTimeout, storageRetry())
}
