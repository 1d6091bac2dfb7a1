package ruleops

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
)

// Pause records the rule paused, then stops its schedule. The record comes
// first because it is what stops deliveries already under way.
func Pause(ctx context.Context, store PauseRecorder, sched SchedulePauser, ruleID uuid.UUID, reason string, at time.Time) error {
	if err := store.RecordPause(ctx, clickhouse.Pause{RuleID: ruleID, At: at, Reason: reason, Paused: true}); err != nil {
		return err
	}
	return sched.Pause(ctx, ruleID, reason)
}

// Resume records the rule resumed, which also starts a new failure streak
// for AutoPause, then restarts its schedule.
func Resume(ctx context.Context, store PauseRecorder, sched ScheduleResumer, ruleID uuid.UUID, reason string, at time.Time) error {
	if err := store.RecordPause(ctx, clickhouse.Pause{RuleID: ruleID, At: at, Reason: reason, Paused: false}); err != nil {
		return err
	}
	return sched.Unpause(ctx, ruleID, reason)
}
