package workflows

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
)

// TickInput is what a rule's schedule starts each tick with.
type TickInput struct {
	RuleID uuid.UUID
}

// TickResult is the watermark handed from tick to tick (through
// GetLastCompletionResult), plus counts for the Temporal UI.
type TickResult struct {
	// Watermark is the server insertion time up to which every window was
	// handed on.
	Watermark time.Time
	Windows   int
	Matched   int
	// Backfill names the backfill this tick worked on, if any.
	Backfill string
	// BackfillDoneUpTo is how far it got.
	BackfillDoneUpTo time.Time `json:",omitempty"`
	Paused           bool      `json:",omitempty"`
	Missing          bool      `json:",omitempty"`
}

// RuleTick is one tick of a rule's schedule: it reads the windows since the
// last tick's watermark, claims the runs that newly match, and hands them on
// to delivery (or to a feedback wait), then works on the oldest pending
// backfill. The watermark advances only past windows whose runs were handed
// on: a child workflow that has started is durable.
func RuleTick(ctx workflow.Context, in TickInput) (TickResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, // short ClickHouse reads: a dead worker's task is retried soon
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	var a *activities.Activities

	var rule activities.RuleInfo
	if err := workflow.ExecuteActivity(ctx, a.LoadRule, activities.RuleInput{RuleID: in.RuleID}).Get(ctx, &rule); err != nil {
		return TickResult{}, err
	}
	var last TickResult
	if workflow.HasLastCompletionResult(ctx) {
		if err := workflow.GetLastCompletionResult(ctx, &last); err != nil {
			return TickResult{}, err
		}
	}
	result := TickResult{Watermark: last.Watermark}
	if result.Watermark.IsZero() {
		result.Watermark = rule.Start
	}
	switch {
	case !rule.Found:
		result.Missing = true
		return result, nil
	case rule.Paused:
		// A trigger reaches a paused schedule too; the watermark waits for the resume.
		result.Paused = true
		return result, nil
	}

	t := tick{rule: rule, ruleID: in.RuleID, info: workflow.GetInfo(ctx)}
	for result.Windows < rule.Windows.MaxWindowsPerTick {
		w, err := t.window(ctx, result.Watermark, time.Time{}, "")
		if err != nil {
			return result, err
		}
		result.Watermark, result.Matched = w.UpTo, result.Matched+w.matched
		result.Windows++
		if w.CaughtUp {
			break
		}
	}

	var bf activities.BackfillState
	if err := workflow.ExecuteActivity(ctx, a.NextBackfill, activities.RuleInput{RuleID: in.RuleID}).Get(ctx, &bf); err != nil {
		return result, err
	}
	for bf.Found && bf.DoneUpTo.Before(bf.To) && result.Windows < 2*rule.Windows.MaxWindowsPerTick {
		upTo := bf.DoneUpTo.Add(rule.Windows.MaxWindow)
		if upTo.After(bf.To) {
			upTo = bf.To
		}
		w, err := t.window(ctx, bf.DoneUpTo, upTo, "backfill-"+bf.ID)
		if err != nil {
			return result, err
		}
		if err := workflow.ExecuteActivity(ctx, a.AdvanceBackfill, activities.AdvanceInput{
			RuleID: in.RuleID, ID: bf.ID, DoneUpTo: upTo,
		}).Get(ctx, nil); err != nil {
			return result, err
		}
		bf.DoneUpTo = upTo
		result.Backfill, result.BackfillDoneUpTo = bf.ID, upTo
		result.Matched += w.matched
		result.Windows++
	}
	return result, nil
}

type tick struct {
	rule   activities.RuleInfo
	ruleID uuid.UUID
	info   *workflow.Info
}

type handed struct {
	activities.MatchResult
	matched int
}

// window claims every page of one window and hands each page on. upTo zero
// lets the first page cut the window at the server's clock.
func (t tick) window(ctx workflow.Context, after, upTo time.Time, kind string) (handed, error) {
	var a *activities.Activities
	var out handed
	for page := 0; ; page++ {
		var m activities.MatchResult
		owner := fmt.Sprintf("%s/%s/%s/p%d", t.info.WorkflowExecution.ID, t.info.WorkflowExecution.RunID, after.Format(time.RFC3339), page)
		if err := workflow.ExecuteActivity(ctx, a.MatchWindow, activities.MatchInput{
			RuleID: t.ruleID, After: after, UpTo: upTo, Owner: owner,
		}).Get(ctx, &m); err != nil {
			return out, err
		}
		upTo = m.UpTo
		if page == 0 {
			out.MatchResult = m
		}
		out.matched += len(m.RunIDs)
		if len(m.RunIDs) > 0 {
			if err := t.handOn(ctx, m, kind, page); err != nil {
				return out, err
			}
		}
		if !m.More {
			return out, nil
		}
	}
}

// handOn starts the page's delivery (or its feedback wait) as a child that
// outlives the tick, and returns once it has started.
func (t tick) handOn(ctx workflow.Context, m activities.MatchResult, kind string, page int) error {
	id := fmt.Sprintf("rule-%s/%s/p%d", t.ruleID, m.UpTo.UTC().Format(time.RFC3339), page)
	if kind != "" {
		id = fmt.Sprintf("rule-%s/%s/%s/p%d", t.ruleID, kind, m.UpTo.UTC().Format(time.RFC3339), page)
	}
	opts := workflow.ChildWorkflowOptions{
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		Memo:              memo(t.rule.Name),
	}
	retry := RetrySettings{InitialInterval: t.rule.Delivery.InitialInterval, BackoffCoefficient: t.rule.Delivery.BackoffCoefficient}
	var child workflow.ChildWorkflowFuture
	if len(t.rule.Require) > 0 {
		opts.WorkflowID = id + "/wait"
		child = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), FeedbackWait, WaitInput{
			RuleID: t.ruleID, RuleName: t.rule.Name, WindowStart: m.After, WindowEnd: m.UpTo, RunIDs: m.RunIDs,
			Require: t.rule.Require, Wait: t.rule.Wait, OnTimeout: t.rule.OnTimeout,
			MaxRuns: t.rule.MaxRuns, Retry: retry, HTTPTimeout: t.rule.Delivery.HTTPTimeout,
		})
	} else {
		opts.WorkflowID = id
		child = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), DeliverRuns, DeliverRunsInput{
			RuleID: t.ruleID, RuleName: t.rule.Name, WindowStart: m.After, WindowEnd: m.UpTo, RunIDs: m.RunIDs,
			MaxRuns: t.rule.MaxRuns, Retry: retry, HTTPTimeout: t.rule.Delivery.HTTPTimeout,
		})
	}
	return child.GetChildWorkflowExecution().Get(ctx, nil)
}
