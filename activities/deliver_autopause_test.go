package activities

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/testenv"
)

type pausedSchedules []uuid.UUID

func (p *pausedSchedules) Pause(_ context.Context, rule uuid.UUID, _ string) error {
	*p = append(*p, rule)
	return nil
}

// RecordOutcome's results are in workflow histories: the auto-pause behind
// it keeps them as they were.
func TestRecordOutcomePausesAfterFailures(t *testing.T) {
	ctx := context.Background()
	sched := &pausedSchedules{}
	a := &Activities{Store: testenv.ClickHouse(t), PauseAfterFailures: 2, Schedules: sched, Logger: slog.New(slog.DiscardHandler)}
	rule := uuid.New()
	outcome := func(delivery string, delivered bool, rule uuid.UUID) OutcomeResult {
		t.Helper()
		res, err := a.RecordOutcome(ctx, OutcomeInput{DeliveryID: delivery, RuleID: rule, RunIDs: []uuid.UUID{uuid.New()},
			Delivered: delivered, Reason: "server_error: 503"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, step := range []struct {
		delivery  string
		delivered bool
		rule      uuid.UUID
		want      OutcomeResult
	}{
		{"d1", true, rule, OutcomeResult{}},
		{"d2", false, rule, OutcomeResult{ConsecutiveFailures: 1}},
		{"run", false, rulelog.RunWebhookRuleID(), OutcomeResult{}},
		{"d3", false, rule, OutcomeResult{Paused: true, ConsecutiveFailures: 2}},
		{"d4", false, rule, OutcomeResult{Paused: true}},
	} {
		if got := outcome(step.delivery, step.delivered, step.rule); got != step.want {
			t.Fatalf("%s: %+v, want %+v", step.delivery, got, step.want)
		}
	}
	if len(*sched) != 1 || (*sched)[0] != rule {
		t.Fatalf("schedules paused: %v", *sched)
	}
}
