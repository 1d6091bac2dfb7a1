package ruleops

import (
	"context"

	"github.com/google/uuid"
)

// Trigger ticks the rule now, or after its running tick: the schedule never
// runs two ticks of a rule at once.
func Trigger(ctx context.Context, sched ScheduleTrigger, ruleID uuid.UUID) error {
	return sched.Trigger(ctx, ruleID)
}
