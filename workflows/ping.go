// Package workflows holds runhook's Temporal workflows. They are deterministic
// and small: every piece of I/O is an activity, and inputs carry IDs and
// counts, never run bodies.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
)

// PingInput is Ping's only argument; fields may be added without breaking callers.
type PingInput struct {
	// Requester names who asked, for the workflow's history in the UI.
	Requester string
}

// PingResult reports the path client → Temporal → worker → ClickHouse.
type PingResult struct {
	Storage activities.StorageStatus
}

// Ping proves a worker is polling the task queue and can reach ClickHouse.
func Ping(ctx workflow.Context, in PingInput) (PingResult, error) {
	ctx = activityOptions(ctx, 30*time.Second, &temporal.RetryPolicy{MaximumAttempts: 3})

	var a *activities.Activities
	var storage activities.StorageStatus
	if err := workflow.ExecuteActivity(ctx, a.CheckStorage).Get(ctx, &storage); err != nil {
		return PingResult{}, err
	}
	return PingResult{Storage: storage}, nil
}
