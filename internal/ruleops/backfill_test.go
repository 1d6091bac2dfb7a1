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

func TestCheckWindow(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		from, to time.Time
		keep     time.Duration
		want     string
	}{
		{now.Add(-2 * time.Hour), now, 0, ""},
		{now.Add(-2 * time.Hour), now, 3 * time.Hour, ""},
		{now, now, 0, "--to (2026-11-20T12:00:00Z) must be after --from (2026-11-20T12:00:00Z)"},
		{now.Add(-4 * time.Hour), now, 3 * time.Hour, "--from (2026-11-20T08:00:00Z) is older than retention.arrivals (3h0m0s): " +
			"the run and feedback arrivals a backfill reads are dropped after that"},
	} {
		err := ruleops.CheckWindow(c.from, c.to, now, c.keep)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("CheckWindow(%v, %v, keep %v) = %q, want %q", c.from, c.to, c.keep, got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("CheckWindow(%v, %v, keep %v) passed, want %q", c.from, c.to, c.keep, c.want)
		}
	}
}

func TestBackfill(t *testing.T) {
	store, sched := &fakeStore{}, &fakeSchedules{}
	rule := uuid.New()
	now := time.Date(2026, 11, 20, 12, 0, 0, 123456789, time.UTC)
	from, to := now.Add(-2*time.Hour), now.Add(-time.Hour)
	b, err := ruleops.Backfill(context.Background(), store, sched, rule, from, to, now)
	if err != nil {
		t.Fatal(err)
	}
	want := clickhouse.Backfill{RuleID: rule, ID: "20261120T120000.123456Z", From: from, To: to, DoneUpTo: from, RequestedAt: now, UpdatedAt: now}
	if b != want || len(store.backfills) != 1 || store.backfills[0] != want {
		t.Fatalf("backfill %+v, stored %+v, want %+v", b, store.backfills, want)
	}
	if sched.String() != "trigger "+rule.String() {
		t.Fatalf("schedule calls: %s", sched)
	}

	// Not recorded, not triggered.
	store, sched = &fakeStore{err: errDown}, &fakeSchedules{}
	if _, err := ruleops.Backfill(context.Background(), store, sched, rule, from, to, now); !errors.Is(err, errDown) || len(sched.calls) != 0 {
		t.Fatalf("err = %v, schedule calls %s", err, sched)
	}
}
