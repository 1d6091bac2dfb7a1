package ruleops

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
)

// BackfillStore records backfills, which the rule's ticks then work through.
type BackfillStore interface {
	PutBackfill(ctx context.Context, b clickhouse.Backfill) error
}

// CheckWindow says whether (from, to] can be backfilled at now, when run and
// feedback arrivals are kept for keep (0: for ever). It needs nothing
// dialled, so a bad window is refused first. Its errors name the ends as
// the CLI's flags --from and --to.
func CheckWindow(from, to, now time.Time, keep time.Duration) error {
	if !to.After(from) {
		return fmt.Errorf("--to (%s) must be after --from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if keep > 0 && from.Before(now.Add(-keep)) {
		return fmt.Errorf("--from (%s) is older than retention.arrivals (%s): the run and feedback arrivals a backfill reads are dropped after that",
			from.Format(time.RFC3339), keep)
	}
	return nil
}

// Backfill records a backfill of (from, to] requested at now and ticks the
// rule, whose ticks work through it after their regular window; runs the
// rule already claimed are skipped. The caller has checked the window with
// CheckWindow.
func Backfill(ctx context.Context, store BackfillStore, sched ScheduleTrigger, ruleID uuid.UUID, from, to, now time.Time) (clickhouse.Backfill, error) {
	b := clickhouse.Backfill{RuleID: ruleID, ID: now.Format("20060102T150405.000000Z"), From: from, To: to, DoneUpTo: from,
		RequestedAt: now, UpdatedAt: now}
	if err := store.PutBackfill(ctx, b); err != nil {
		return b, err
	}
	return b, sched.Trigger(ctx, ruleID)
}
