// Package ruleops holds the operations on a stored rule: pause, resume,
// trigger, backfill, redeliver, preview, the pause that a rule's failing
// deliveries bring on (AutoPause), and the match a rule asks of a window
// (MatchFor). The CLI and the activities both call it, so a rule is paused
// the same way whoever pauses it, and a preview matches as a tick does.
//
// Each operation takes the one- or two-method interfaces it needs of the
// ClickHouse store and the Temporal schedules, declared here.
package ruleops

import (
	"context"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
)

// PauseRecorder stores a rule's pauses and resumes. Deliveries read the
// latest record, so the record alone stops and restarts them.
type PauseRecorder interface {
	RecordPause(ctx context.Context, p clickhouse.Pause) error
}

// SchedulePauser stops a rule's ticks.
type SchedulePauser interface {
	Pause(ctx context.Context, ruleID uuid.UUID, note string) error
}

// ScheduleResumer restarts a rule's ticks.
type ScheduleResumer interface {
	Unpause(ctx context.Context, ruleID uuid.UUID, note string) error
}

// ScheduleTrigger starts a rule's tick now.
type ScheduleTrigger interface {
	Trigger(ctx context.Context, ruleID uuid.UUID) error
}
