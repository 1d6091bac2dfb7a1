package workflows

import (
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
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
	BackfillDoneUpTo time.Time
	Paused           bool `json:",omitempty"`
	Missing          bool `json:",omitempty"`
}

// RuleTick is one tick of a rule's schedule: it reads the windows since the
// last tick's watermark, claims the runs that newly match, and hands them on
// to delivery (or to a feedback wait), then works on the oldest pending
// backfill. The watermark advances only past windows whose runs were handed
// on: a child workflow that has started is durable.
//
// A tick that finds nothing costs one workflow task and one local activity,
// BeginTick, which reads the rule, its pause and backfill and the first page
// of its window at once.
func RuleTick(ctx workflow.Context, in TickInput) (TickResult, error) {
	if workflow.GetVersion(ctx, beginTickChange, workflow.DefaultVersion, beginTickVersion) == workflow.DefaultVersion {
		return ruleTickThreeActivities(ctx, in)
	}
	ctx = storageOptions(ctx)
	var a *activities.Activities
	last, err := lastTick(ctx)
	if err != nil {
		return TickResult{}, err
	}
	info := workflow.GetInfo(ctx)

	// Local: its result is one marker in the tick's history, and a retry of
	// the workflow task that ran it re-runs it harmlessly (reads, and claims
	// that hand the same owner the same runs).
	var begun activities.TickStart
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: storageTimeout, RetryPolicy: storageRetry()})
	if err := workflow.ExecuteLocalActivity(lctx, a.BeginTick, activities.BeginTickInput{
		RuleID: in.RuleID, Watermark: last.Watermark, OwnerPrefix: ownerPrefix(info),
	}).Get(ctx, &begun); err != nil {
		return TickResult{}, err
	}
	rule := begun.Rule
	result, done := startFrom(rule, last)
	if done {
		return result, nil
	}

	t := tick{rule: rule, ruleID: in.RuleID, info: info}
	if err := t.windows(ctx, &result, &begun.Page); err != nil {
		return result, err
	}
	return result, t.backfill(ctx, begun.Backfill, &result)
}

// beginTickVersion marks ticks that start with BeginTick; ticks before it
// ran LoadRule, MatchWindow and NextBackfill as three activities.
const (
	beginTickChange  = "begin-tick"
	beginTickVersion = 1
)

// startFrom is where a tick begins: the last tick's watermark, or the
// rule's start. done: the rule is gone or paused, and the watermark waits
// (a trigger reaches a paused schedule too).
func startFrom(rule activities.RuleInfo, last TickResult) (result TickResult, done bool) {
	result = TickResult{Watermark: last.Watermark}
	if result.Watermark.IsZero() {
		result.Watermark = rule.Start
	}
	switch {
	case !rule.Found:
		result.Missing = true
		return result, true
	case rule.Paused:
		result.Paused = true
		return result, true
	}
	return result, false
}

func lastTick(ctx workflow.Context) (TickResult, error) {
	var last TickResult
	if workflow.HasLastCompletionResult(ctx) {
		if err := workflow.GetLastCompletionResult(ctx, &last); err != nil {
			return TickResult{}, err
		}
	}
	return last, nil
}

// ruleTickThreeActivities is RuleTick before beginTickVersion, kept for the
// ticks in flight at an upgrade.
func ruleTickThreeActivities(ctx workflow.Context, in TickInput) (TickResult, error) {
	ctx = storageOptions(ctx)
	var a *activities.Activities

	var rule activities.RuleInfo
	if err := workflow.ExecuteActivity(ctx, a.LoadRule, activities.RuleInput{RuleID: in.RuleID}).Get(ctx, &rule); err != nil {
		return TickResult{}, err
	}
	last, err := lastTick(ctx)
	if err != nil {
		return TickResult{}, err
	}
	result, done := startFrom(rule, last)
	if done {
		return result, nil
	}

	t := tick{rule: rule, ruleID: in.RuleID, info: workflow.GetInfo(ctx)}
	if err := t.windows(ctx, &result, nil); err != nil {
		return result, err
	}

	var bf activities.BackfillState
	if err := workflow.ExecuteActivity(ctx, a.NextBackfill, activities.RuleInput{RuleID: in.RuleID}).Get(ctx, &bf); err != nil {
		return result, err
	}
	return result, t.backfill(ctx, bf, &result)
}

// windows works through the rule's windows from the watermark, within the
// tick's budget, until one reaches the settle lag. first, when set, is the
// first window's first page, already matched and claimed.
func (t tick) windows(ctx workflow.Context, result *TickResult, first *activities.MatchResult) error {
	for result.Windows < t.rule.Windows.MaxWindowsPerTick {
		w, err := t.window(ctx, result.Watermark, time.Time{}, "", first)
		if err != nil {
			return err
		}
		first = nil
		result.Watermark, result.Matched = w.UpTo, result.Matched+w.matched
		result.Windows++
		if w.CaughtUp {
			return nil
		}
	}
	return nil
}

// backfill works on the rule's oldest pending backfill, within the tick's
// budget of windows.
func (t tick) backfill(ctx workflow.Context, bf activities.BackfillState, result *TickResult) error {
	var a *activities.Activities
	for bf.Found && bf.DoneUpTo.Before(bf.To) && result.Windows < 2*t.rule.Windows.MaxWindowsPerTick {
		upTo := bf.DoneUpTo.Add(t.rule.Windows.MaxWindow)
		if upTo.After(bf.To) {
			upTo = bf.To
		}
		w, err := t.window(ctx, bf.DoneUpTo, upTo, "backfill-"+bf.ID, nil)
		if err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(ctx, a.AdvanceBackfill, activities.AdvanceInput{
			RuleID: t.ruleID, ID: bf.ID, DoneUpTo: upTo,
		}).Get(ctx, nil); err != nil {
			return err
		}
		bf.DoneUpTo = upTo
		result.Backfill, result.BackfillDoneUpTo = bf.ID, upTo
		result.Matched += w.matched
		result.Windows++
	}
	return nil
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
// lets the first page cut the window at the server's clock. first, when
// set, is the window's first page, already matched and claimed.
func (t tick) window(ctx workflow.Context, after, upTo time.Time, kind string, first *activities.MatchResult) (handed, error) {
	var a *activities.Activities
	var out handed
	for page := 0; ; page++ {
		var m activities.MatchResult
		if page == 0 && first != nil {
			m = *first
		} else if err := workflow.ExecuteActivity(ctx, a.MatchWindow, activities.MatchInput{
			RuleID: t.ruleID, After: after, UpTo: upTo, Owner: claimOwner(t.info, after, page),
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
	id := pageID(t.ruleID, kind, m.UpTo, page)
	opts := workflow.ChildWorkflowOptions{
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		Memo:              memo(t.rule.Name),
	}
	retry := RetrySettings{InitialInterval: t.rule.Delivery.InitialInterval, BackoffCoefficient: t.rule.Delivery.BackoffCoefficient}
	batch := activities.Batch{RuleID: t.ruleID, WindowStart: m.After, WindowEnd: m.UpTo, RunIDs: m.RunIDs}
	var child workflow.ChildWorkflowFuture
	if len(t.rule.Require) > 0 {
		opts.WorkflowID = waitID(id)
		child = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), FeedbackWait, WaitInput{
			Batch: batch, RuleName: t.rule.Name,
			Require: t.rule.Require, Wait: t.rule.Wait, OnTimeout: t.rule.OnTimeout,
			MaxRuns: t.rule.MaxRuns, Retry: retry, HTTPTimeout: t.rule.Delivery.HTTPTimeout,
		})
	} else {
		opts.WorkflowID = id
		child = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), DeliverRuns, DeliverRunsInput{
			Batch: batch, RuleName: t.rule.Name,
			MaxRuns: t.rule.MaxRuns, Retry: retry, HTTPTimeout: t.rule.Delivery.HTTPTimeout,
		})
	}
	return child.GetChildWorkflowExecution().Get(ctx, nil)
}
