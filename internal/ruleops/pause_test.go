package ruleops_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
)

func TestPauseAndResume(t *testing.T) {
	ctx := context.Background()
	store, sched := &fakeStore{}, &fakeSchedules{}
	rule, at := uuid.New(), time.Now()
	if err := ruleops.Pause(ctx, store, sched, rule, "by hand", at); err != nil {
		t.Fatal(err)
	}
	if err := ruleops.Resume(ctx, store, sched, rule, "by hand again", at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	want := []clickhouse.Pause{
		{RuleID: rule, At: at, Reason: "by hand", Paused: true},
		{RuleID: rule, At: at.Add(time.Second), Reason: "by hand again"},
	}
	if len(store.pauses) != 2 || store.pauses[0] != want[0] || store.pauses[1] != want[1] {
		t.Fatalf("recorded %+v, want %+v", store.pauses, want)
	}
	if got := sched.String(); got != "pause "+rule.String()+": by hand\nunpause "+rule.String()+": by hand again" {
		t.Fatalf("schedule calls:\n%s", got)
	}
}

// Without the record, deliveries would go on: the schedule is left alone.
func TestPauseNotRecordedLeavesTheSchedule(t *testing.T) {
	store, sched := &fakeStore{err: errDown}, &fakeSchedules{}
	if err := ruleops.Pause(context.Background(), store, sched, uuid.New(), "x", time.Now()); !errors.Is(err, errDown) {
		t.Fatalf("err = %v", err)
	}
	if err := ruleops.Resume(context.Background(), store, sched, uuid.New(), "x", time.Now()); !errors.Is(err, errDown) {
		t.Fatalf("err = %v", err)
	}
	if len(sched.calls) != 0 {
		t.Fatalf("schedule changed: %s", sched)
	}
}

// A user pausing by hand hears that the schedule did not pause.
func TestPauseReportsTheSchedule(t *testing.T) {
	store, sched := &fakeStore{}, &fakeSchedules{err: errDown}
	if err := ruleops.Pause(context.Background(), store, sched, uuid.New(), "x", time.Now()); !errors.Is(err, errDown) {
		t.Fatalf("err = %v", err)
	}
	if len(store.pauses) != 1 {
		t.Fatalf("recorded %+v", store.pauses)
	}
}
