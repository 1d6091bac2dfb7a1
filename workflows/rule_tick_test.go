package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/workflows"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type tickRecorder struct {
	mu       sync.Mutex
	matches  []activities.MatchInput
	waits    []workflows.WaitInput
	delivers []workflows.DeliverRunsInput
	advances []activities.AdvanceInput
	begins   int
}

// tickEnv mocks a tick's activities: windows returns the MatchResult for the
// n-th MatchWindow call.
func tickEnv(t *testing.T, rule activities.RuleInfo, windows func(n int, in activities.MatchInput) activities.MatchResult, backfill activities.BackfillState) (*testsuite.TestWorkflowEnvironment, *tickRecorder) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	rec := &tickRecorder{}
	var a *activities.Activities
	env.RegisterWorkflow(workflows.DeliverRuns)
	env.RegisterWorkflow(workflows.FeedbackWait)
	match := func(in activities.MatchInput) activities.MatchResult {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.matches = append(rec.matches, in)
		return windows(len(rec.matches)-1, in)
	}
	// BeginTick is LoadRule, NextBackfill and the first MatchWindow in one.
	env.OnActivity(a.BeginTick, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BeginTickInput) (activities.TickStart, error) {
			rec.mu.Lock()
			rec.begins++
			rec.mu.Unlock()
			out := activities.TickStart{Rule: rule}
			if !rule.Found || rule.Paused {
				return out, nil
			}
			out.Backfill, out.After = backfill, in.Watermark
			if out.After.IsZero() {
				out.After = rule.Start
			}
			out.Page = match(activities.MatchInput{RuleID: in.RuleID, After: out.After,
				Owner: activities.ClaimOwner(in.OwnerPrefix, out.After, 0)})
			return out, nil
		})
	env.OnActivity(a.MatchWindow, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.MatchInput) (activities.MatchResult, error) {
			return match(in), nil
		}).Maybe()
	env.OnActivity(a.AdvanceBackfill, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AdvanceInput) error {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.advances = append(rec.advances, in)
			return nil
		})
	env.OnWorkflow(workflows.DeliverRuns, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in workflows.DeliverRunsInput) (workflows.DeliverRunsResult, error) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.delivers = append(rec.delivers, in)
			return workflows.DeliverRunsResult{}, nil
		}).Maybe()
	env.OnWorkflow(workflows.FeedbackWait, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in workflows.WaitInput) (workflows.WaitResult, error) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.waits = append(rec.waits, in)
			return workflows.WaitResult{}, nil
		}).Maybe()
	return env, rec
}

func ruleInfo() activities.RuleInfo {
	return activities.RuleInfo{Found: true, Name: "r", Start: t0,
		Windows: activities.Windows{MaxWindow: time.Hour, MaxWindowsPerTick: 3, PageSize: 2}}
}

func tickResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.TickResult {
	t.Helper()
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.TickResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRuleTickHandsOnPagesAndAdvancesTheWatermark(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	rule := uuid.New()
	env, rec := tickEnv(t, ruleInfo(), func(n int, in activities.MatchInput) activities.MatchResult {
		switch n {
		case 0: // a long gap: the first window is capped, and its page is full
			return activities.MatchResult{After: in.After, UpTo: t0.Add(time.Hour), RunIDs: []uuid.UUID{a, b}, More: true}
		case 1: // the same window's second page
			return activities.MatchResult{After: in.After, UpTo: in.UpTo, RunIDs: []uuid.UUID{c}}
		default:
			return activities.MatchResult{After: in.After, UpTo: t0.Add(90 * time.Minute), CaughtUp: true}
		}
	}, activities.BackfillState{})
	env.ExecuteWorkflow(workflows.RuleTick, workflows.TickInput{RuleID: rule})
	res := tickResult(t, env)

	if !res.Watermark.Equal(t0.Add(90*time.Minute)) || res.Matched != 3 || res.Windows != 2 {
		t.Fatalf("result %+v", res)
	}
	if len(rec.matches) != 3 || !rec.matches[0].After.Equal(t0) || !rec.matches[0].UpTo.IsZero() {
		t.Fatalf("match calls %+v", rec.matches)
	}
	if !rec.matches[1].UpTo.Equal(t0.Add(time.Hour)) || rec.matches[1].Owner == rec.matches[0].Owner {
		t.Errorf("second page must keep the window and have its own owner: %+v", rec.matches[1])
	}
	if !rec.matches[2].After.Equal(t0.Add(time.Hour)) {
		t.Errorf("next window starts at %v, want the previous end", rec.matches[2].After)
	}
	if len(rec.delivers) != 2 || len(rec.delivers[0].RunIDs) != 2 || len(rec.delivers[1].RunIDs) != 1 {
		t.Fatalf("deliveries %+v", rec.delivers)
	}
	if rec.begins != 1 {
		t.Errorf("%d BeginTick calls, want 1", rec.begins)
	}
}

// A tick that finds nothing runs BeginTick alone: one local activity in one
// workflow task.
func TestRuleTickIdleIsOneActivity(t *testing.T) {
	env, rec := tickEnv(t, ruleInfo(), func(_ int, in activities.MatchInput) activities.MatchResult {
		return activities.MatchResult{After: in.After, UpTo: in.After.Add(time.Minute), CaughtUp: true}
	}, activities.BackfillState{})
	env.ExecuteWorkflow(workflows.RuleTick, workflows.TickInput{RuleID: uuid.New()})
	res := tickResult(t, env)
	if rec.begins != 1 || len(rec.matches) != 1 || len(rec.delivers)+len(rec.waits)+len(rec.advances) != 0 || res.Windows != 1 {
		t.Errorf("%d begins, %d matches, result %+v", rec.begins, len(rec.matches), res)
	}
}

func TestRuleTickStartsFromTheLastWatermark(t *testing.T) {
	env, rec := tickEnv(t, ruleInfo(), func(_ int, in activities.MatchInput) activities.MatchResult {
		return activities.MatchResult{After: in.After, UpTo: in.After.Add(time.Minute), CaughtUp: true}
	}, activities.BackfillState{})
	last := t0.Add(5 * time.Hour)
	env.SetLastCompletionResult(workflows.TickResult{Watermark: last})
	env.ExecuteWorkflow(workflows.RuleTick, workflows.TickInput{RuleID: uuid.New()})
	res := tickResult(t, env)
	if !rec.matches[0].After.Equal(last) || !res.Watermark.Equal(last.Add(time.Minute)) {
		t.Fatalf("started at %v, ended at %v; want from %v", rec.matches[0].After, res.Watermark, last)
	}
}

func TestRuleTickPausedOrMissingKeepsTheWatermark(t *testing.T) {
	for _, info := range []activities.RuleInfo{{Found: true, Paused: true, Start: t0}, {}} {
		env, rec := tickEnv(t, info, func(int, activities.MatchInput) activities.MatchResult {
			return activities.MatchResult{}
		}, activities.BackfillState{})
		last := t0.Add(time.Hour)
		env.SetLastCompletionResult(workflows.TickResult{Watermark: last})
		env.ExecuteWorkflow(workflows.RuleTick, workflows.TickInput{RuleID: uuid.New()})
		res := tickResult(t, env)
		if len(rec.matches) != 0 || !res.Watermark.Equal(last) {
			t.Fatalf("%+v: %d match calls, watermark %v", info, len(rec.matches), res.Watermark)
		}
	}
}

func TestRuleTickWorksThroughABackfill(t *testing.T) {
	from := t0.Add(-3 * time.Hour)
	bf := activities.BackfillState{Found: true, ID: "b1", DoneUpTo: from, To: from.Add(150 * time.Minute)}
	info := ruleInfo()
	info.Require = []string{"usefulness"}
	info.Wait = time.Hour
	env, rec := tickEnv(t, info, func(_ int, in activities.MatchInput) activities.MatchResult {
		up := in.UpTo
		if up.IsZero() {
			return activities.MatchResult{After: in.After, UpTo: in.After, CaughtUp: true}
		}
		return activities.MatchResult{After: in.After, UpTo: up, RunIDs: []uuid.UUID{uuid.New()}}
	}, bf)
	env.ExecuteWorkflow(workflows.RuleTick, workflows.TickInput{RuleID: uuid.New()})
	res := tickResult(t, env)

	// 150 minutes in windows of at most an hour: 60 + 60 + 30.
	if len(rec.advances) != 3 || !rec.advances[2].DoneUpTo.Equal(bf.To) || !rec.advances[0].DoneUpTo.Equal(from.Add(time.Hour)) {
		t.Fatalf("advances %+v", rec.advances)
	}
	if res.Backfill != "b1" || !res.BackfillDoneUpTo.Equal(bf.To) || res.Matched != 3 {
		t.Fatalf("result %+v", res)
	}
	if len(rec.waits) != 3 || len(rec.delivers) != 0 {
		t.Fatalf("a gated rule must hand on to FeedbackWait: %d waits, %d deliveries", len(rec.waits), len(rec.delivers))
	}
	if rec.waits[0].Wait != time.Hour || rec.waits[0].Require[0] != "usefulness" {
		t.Errorf("wait input %+v", rec.waits[0])
	}
}

func TestFeedbackWaitDeliversReadyRunsAndAppliesTheTimeout(t *testing.T) {
	for _, onTimeout := range []string{"skip", "deliver"} {
		t.Run(onTimeout, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var a *activities.Activities
			early, late, never := uuid.New(), uuid.New(), uuid.New()
			var mu sync.Mutex
			checks := 0
			var delivered [][]uuid.UUID
			var skipped []activities.SkipInput
			var events []string
			env.OnActivity(a.RecordEvents, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.EventInput) error {
					mu.Lock()
					defer mu.Unlock()
					events = append(events, in.Event)
					return nil
				})
			env.OnActivity(a.CheckFeedback, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.FeedbackInput) ([]uuid.UUID, error) {
					mu.Lock()
					defer mu.Unlock()
					checks++
					var ready []uuid.UUID
					for _, id := range in.RunIDs {
						if id == early || (id == late && checks > 4) {
							ready = append(ready, id)
						}
					}
					return ready, nil
				})
			env.OnActivity(a.SkipRuns, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.SkipInput) error {
					mu.Lock()
					defer mu.Unlock()
					skipped = append(skipped, in)
					return nil
				}).Maybe()
			env.RegisterWorkflow(workflows.DeliverRuns)
			env.OnWorkflow(workflows.DeliverRuns, mock.Anything, mock.Anything).Return(
				func(_ workflow.Context, in workflows.DeliverRunsInput) (workflows.DeliverRunsResult, error) {
					mu.Lock()
					defer mu.Unlock()
					delivered = append(delivered, in.RunIDs)
					return workflows.DeliverRunsResult{}, nil
				})
			env.ExecuteWorkflow(workflows.FeedbackWait, workflows.WaitInput{
				Batch: activities.Batch{RuleID: uuid.New(), RunIDs: []uuid.UUID{early, late, never}}, Require: []string{"usefulness"},
				Wait: 10 * time.Minute, OnTimeout: onTimeout,
			})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var res workflows.WaitResult
			_ = env.GetWorkflowResult(&res)

			if len(delivered) < 2 || len(delivered[0]) != 1 || delivered[0][0] != early || len(delivered[1]) != 1 || delivered[1][0] != late {
				t.Fatalf("deliveries %v: want early, then late", delivered)
			}
			if res.Ready != 2 || res.TimedOut != 1 {
				t.Fatalf("result %+v", res)
			}
			switch onTimeout {
			case "skip":
				if len(skipped) != 1 || skipped[0].RunIDs[0] != never || !strings.Contains(skipped[0].Reason, "usefulness") || len(delivered) != 2 {
					t.Fatalf("skip: skipped %+v, delivered %v", skipped, delivered)
				}
			case "deliver":
				if len(skipped) != 0 || len(delivered) != 3 || delivered[2][0] != never {
					t.Fatalf("deliver: skipped %+v, delivered %v", skipped, delivered)
				}
			}
			if strings.Join(events, ",") != "waiting,timed_out" {
				t.Errorf("events %v", events)
			}
		})
	}
}
