package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/rulelog"
)

// WaitInput hands matched runs to a feedback wait: they are delivered once
// they carry every Require key, or at the deadline as OnTimeout says.
type WaitInput struct {
	activities.Batch
	RuleName    string
	Require     []string
	Wait        time.Duration
	OnTimeout   string // "skip" or "deliver"
	MaxRuns     int
	Retry       RetrySettings
	HTTPTimeout time.Duration
	// Set by the workflow when it continues as new.
	Deadline time.Time
	Round    int `json:",omitempty"`
}

// WaitResult counts the runs by how their wait ended.
type WaitResult struct {
	Ready    int
	TimedOut int
	Skipped  int
}

// The checks back off from firstCheck to maxCheck between reads of ClickHouse.
const (
	firstCheck = time.Second
	maxCheck   = time.Minute
	// historyBudget keeps a long wait's history small: past it the workflow
	// continues as new with the runs still waiting.
	historyBudget = 2000
)

// FeedbackWait waits durably (on Temporal timers, surviving worker restarts)
// for the required feedback of a page of matched runs, delivering them in
// batches as they become ready.
func FeedbackWait(ctx workflow.Context, in WaitInput) (WaitResult, error) {
	ctx = storageOptions(ctx)
	var a *activities.Activities
	var result WaitResult
	id := workflow.GetInfo(ctx).WorkflowExecution.ID

	if in.Deadline.IsZero() {
		in.Deadline = workflow.Now(ctx).Add(in.Wait)
		reason := fmt.Sprintf("waiting for feedback %s until %s", strings.Join(in.Require, ", "), in.Deadline.UTC().Format(time.RFC3339))
		if err := workflow.ExecuteActivity(ctx, a.RecordEvents, activities.EventInput{
			RuleID: in.RuleID, RunIDs: in.RunIDs, Event: rulelog.Waiting, Reason: reason,
		}).Get(ctx, nil); err != nil {
			return result, err
		}
	}

	pending := in.RunIDs
	var deliveries []workflow.ChildWorkflowFuture
	deliver := func(runIDs []uuid.UUID) {
		childID := readyID(id, in.Round, len(deliveries))
		childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: childID, Memo: memo(in.RuleName),
		})
		deliveries = append(deliveries, workflow.ExecuteChildWorkflow(childCtx, DeliverRuns, DeliverRunsInput{
			Batch:    activities.Batch{RuleID: in.RuleID, WindowStart: in.WindowStart, WindowEnd: in.WindowEnd, RunIDs: runIDs},
			RuleName: in.RuleName,
			MaxRuns:  in.MaxRuns, Retry: in.Retry, HTTPTimeout: in.HTTPTimeout,
		}))
	}

	delay := firstCheck
	for len(pending) > 0 {
		var ready []uuid.UUID
		if err := workflow.ExecuteActivity(ctx, a.CheckFeedback, activities.FeedbackInput{
			RuleID: in.RuleID, RunIDs: pending, Require: in.Require,
		}).Get(ctx, &ready); err != nil {
			return result, err
		}
		if len(ready) > 0 {
			deliver(ready)
			result.Ready += len(ready)
			pending = slices.DeleteFunc(slices.Clone(pending), func(id uuid.UUID) bool { return slices.Contains(ready, id) })
			delay = firstCheck
			continue
		}
		left := in.Deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			break
		}
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > historyBudget {
			if err := wait(ctx, deliveries); err != nil {
				return result, err
			}
			in.RunIDs, in.Round = pending, in.Round+1
			return result, workflow.NewContinueAsNewError(ctx, FeedbackWait, in)
		}
		if err := workflow.Sleep(ctx, min(delay, left)); err != nil {
			return result, err
		}
		delay = min(2*delay, maxCheck)
	}

	if len(pending) > 0 {
		result.TimedOut = len(pending)
		reason := fmt.Sprintf("feedback %s missing after %s", strings.Join(in.Require, ", "), in.Wait)
		if err := workflow.ExecuteActivity(ctx, a.RecordEvents, activities.EventInput{
			RuleID: in.RuleID, RunIDs: pending, Event: rulelog.TimedOut, Reason: reason,
		}).Get(ctx, nil); err != nil {
			return result, err
		}
		if in.OnTimeout == "deliver" {
			deliver(pending)
		} else {
			result.Skipped = len(pending)
			if err := workflow.ExecuteActivity(ctx, a.SkipRuns, activities.SkipInput{
				RuleID: in.RuleID, RunIDs: pending, DeliveryID: id, Reason: reason + " (feedback.on_timeout: skip)",
			}).Get(ctx, nil); err != nil {
				return result, err
			}
		}
	}
	return result, wait(ctx, deliveries)
}

func wait(ctx workflow.Context, children []workflow.ChildWorkflowFuture) error {
	for _, c := range children {
		if err := c.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}
