package ruleops_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/ruleops"
)

func TestTrigger(t *testing.T) {
	sched, rule := &fakeSchedules{}, uuid.New()
	if err := ruleops.Trigger(context.Background(), sched, rule); err != nil {
		t.Fatal(err)
	}
	if sched.String() != "trigger "+rule.String() {
		t.Fatalf("schedule calls: %s", sched)
	}
}
