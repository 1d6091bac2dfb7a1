package ruleops_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
)

func TestAutoPauseAtTheThreshold(t *testing.T) {
	ctx := context.Background()
	rule, at := uuid.New(), time.Now()
	var logs bytes.Buffer
	store, sched := &fakeStore{failures: 2}, &fakeSchedules{}
	p := ruleops.AutoPause{After: 3, Store: store, Schedules: sched, Logger: slog.New(slog.NewTextHandler(&logs, nil))}

	if got, err := p.Failed(ctx, rule, "server_error: 503", at); err != nil || got != (ruleops.Streak{Failures: 2}) {
		t.Fatalf("below the threshold: %+v, %v", got, err)
	}
	if len(store.pauses) != 0 || len(sched.calls) != 0 {
		t.Fatalf("paused below the threshold: %+v %s", store.pauses, sched)
	}

	store.failures = 3
	reason := "3 deliveries failed in a row (delivery.pause_after_failures = 3); last: server_error: 503"
	if got, err := p.Failed(ctx, rule, "server_error: 503", at); err != nil || got != (ruleops.Streak{Paused: true, Failures: 3, Reason: reason}) {
		t.Fatalf("at the threshold: %+v, %v", got, err)
	}
	want := clickhouse.Pause{RuleID: rule, At: at, Reason: reason, Failures: 3, Paused: true}
	if len(store.pauses) != 1 || store.pauses[0] != want {
		t.Fatalf("recorded %+v, want %+v", store.pauses, want)
	}
	if sched.String() != "pause "+rule.String()+": "+reason {
		t.Fatalf("schedule calls: %s", sched)
	}
	if !strings.Contains(logs.String(), `msg="rule paused"`) {
		t.Fatalf("logs: %s", logs.String())
	}

	// Paused already: nothing more is counted or recorded.
	if got, err := p.Failed(ctx, rule, "again", at); err != nil || got != (ruleops.Streak{Paused: true}) {
		t.Fatalf("paused already: %+v, %v", got, err)
	}
	if len(store.pauses) != 1 || len(sched.calls) != 1 {
		t.Fatalf("paused twice: %+v %s", store.pauses, sched)
	}
}

// A resumed rule's streak starts at its resume.
func TestAutoPauseCountsFromTheResume(t *testing.T) {
	resumed := time.Now().Add(-time.Hour)
	store := &fakeStore{pauses: []clickhouse.Pause{{At: resumed}}}
	p := ruleops.AutoPause{After: 3, Store: store}
	if _, err := p.Failed(context.Background(), uuid.New(), "x", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !store.sinceAsked.Equal(resumed) {
		t.Fatalf("counted since %v, want %v", store.sinceAsked, resumed)
	}
}

func TestAutoPauseOff(t *testing.T) {
	store := &fakeStore{failures: 100, err: errDown}
	if got, err := (ruleops.AutoPause{Store: store}).Failed(context.Background(), uuid.New(), "x", time.Now()); err != nil || got != (ruleops.Streak{}) {
		t.Fatalf("After 0: %+v, %v", got, err)
	}
}

// Once recorded, the pause stands: a schedule that cannot be reached is
// logged, and a missing one is no matter.
func TestAutoPauseScheduleTrouble(t *testing.T) {
	var logs bytes.Buffer
	store := &fakeStore{failures: 1}
	p := ruleops.AutoPause{After: 1, Store: store, Schedules: &fakeSchedules{err: errDown}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if got, err := p.Failed(context.Background(), uuid.New(), "x", time.Now()); err != nil || !got.Paused {
		t.Fatalf("%+v, %v", got, err)
	}
	if !strings.Contains(logs.String(), `msg="pause rule schedule" error=down`) {
		t.Fatalf("logs: %s", logs.String())
	}

	store = &fakeStore{failures: 1}
	if got, err := (ruleops.AutoPause{After: 1, Store: store, Logger: slog.New(slog.DiscardHandler)}).Failed(context.Background(), uuid.New(), "x", time.Now()); err != nil || !got.Paused || len(store.pauses) != 1 {
		t.Fatalf("no schedules: %+v, %v, %+v", got, err, store.pauses)
	}
}

func TestAutoPauseStoreTrouble(t *testing.T) {
	store := &fakeStore{err: errDown}
	if _, err := (ruleops.AutoPause{After: 1, Store: store}).Failed(context.Background(), uuid.New(), "x", time.Now()); !errors.Is(err, errDown) {
		t.Fatalf("err = %v", err)
	}
}
