package ruleops

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
)

// FailureStore is what AutoPause reads and writes: the rule's latest pause
// record and its streak of failed deliveries.
type FailureStore interface {
	PauseRecorder
	LatestPause(ctx context.Context, ruleID uuid.UUID) (clickhouse.Pause, bool, error)
	ConsecutiveFailedDeliveries(ctx context.Context, ruleID uuid.UUID, since time.Time, atMost int) (int, error)
}

// AutoPause pauses a rule whose deliveries fail After times in a row
// (delivery.pause_after_failures).
type AutoPause struct {
	After int // 0 never pauses
	Store FailureStore
	// Schedules stops the paused rule's ticks; nil: the pause is only
	// recorded, which is enough to stop deliveries.
	Schedules SchedulePauser
	Logger    *slog.Logger
}

// Streak is where a rule stands after one of its deliveries failed.
type Streak struct {
	// Paused: the rule is paused, by this failure or before it.
	Paused bool
	// Failures is the failed deliveries in a row, counted up to After; 0
	// when the rule was already paused.
	Failures int
	// Reason is the pause's recorded reason when this failure paused the rule.
	Reason string `json:",omitempty"`
}

// Failed counts the rule's failed deliveries in a row since it last resumed
// and pauses it when they reach After. last is the redacted reason of the
// latest failure, kept in the pause's reason.
func (p AutoPause) Failed(ctx context.Context, ruleID uuid.UUID, last string, at time.Time) (Streak, error) {
	if p.After <= 0 {
		return Streak{}, nil
	}
	prev, found, err := p.Store.LatestPause(ctx, ruleID)
	if err != nil {
		return Streak{}, err
	}
	var since time.Time
	if found {
		if prev.Paused {
			return Streak{Paused: true}, nil
		}
		since = prev.At // resumed: the streak starts again
	}
	n, err := p.Store.ConsecutiveFailedDeliveries(ctx, ruleID, since, p.After)
	if err != nil {
		return Streak{}, err
	}
	if n < p.After {
		return Streak{Failures: n}, nil
	}
	reason := fmt.Sprintf("%d deliveries failed in a row (delivery.pause_after_failures = %d); last: %s", n, p.After, last)
	if err := p.Store.RecordPause(ctx, clickhouse.Pause{RuleID: ruleID, At: at, Reason: reason, Failures: uint32(n), Paused: true}); err != nil {
		return Streak{Failures: n}, err
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Warn("rule paused", "reason", reason)
	if p.Schedules != nil {
		// Unlike Pause, a schedule that cannot be reached is no error: the
		// record already stops deliveries; the schedule only saves the
		// ticks' work.
		if err := p.Schedules.Pause(ctx, ruleID, reason); err != nil {
			log.Error("pause rule schedule", "error", err)
		}
	}
	return Streak{Paused: true, Failures: n, Reason: reason}, nil
}
