package ruleops_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/testenv"
)

// scheduledRule is a rule with a real schedule on the test's Temporal
// server, deleted after the test.
func scheduledRule(t *testing.T) (uuid.UUID, schedules.Manager) {
	t.Helper()
	c, queue := testenv.Temporal(t)
	sched := schedules.Manager{Client: c, TaskQueue: queue}
	rule := uuid.New()
	if err := sched.Create(context.Background(), schedules.Desired{RuleID: rule, Name: "ruleops", Interval: time.Hour, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sched.Delete(context.Background(), rule) })
	return rule, sched
}

func assertPaused(t *testing.T, store *clickhouse.Store, sched schedules.Manager, rule uuid.UUID, want bool) clickhouse.Pause {
	t.Helper()
	ctx := context.Background()
	p, found, err := store.LatestPause(ctx, rule)
	if err != nil || !found || p.Paused != want {
		t.Fatalf("pause record: %+v found %v, %v; want paused %v", p, found, err, want)
	}
	st, err := sched.Get(ctx, rule)
	if err != nil || st.Paused != want || st.Note != p.Reason {
		t.Fatalf("schedule: %+v, %v; want paused %v with note %q", st, err, want, p.Reason)
	}
	return p
}

func TestPauseResumeAgainstTheServers(t *testing.T) {
	store := testenv.ClickHouse(t)
	rule, sched := scheduledRule(t)
	ctx := context.Background()

	if err := ruleops.Pause(ctx, store, sched, rule, "paused with starter rules pause", time.Now()); err != nil {
		t.Fatal(err)
	}
	assertPaused(t, store, sched, rule, true)
	if err := ruleops.Resume(ctx, store, sched, rule, "resumed with starter rules resume", time.Now()); err != nil {
		t.Fatal(err)
	}
	assertPaused(t, store, sched, rule, false)
}

func TestAutoPauseAgainstTheServers(t *testing.T) {
	store := testenv.ClickHouse(t)
	rule, sched := scheduledRule(t)
	ctx := context.Background()
	p := ruleops.AutoPause{After: 2, Store: store, Schedules: sched, Logger: slog.New(slog.DiscardHandler)}
	fail := func(delivery string) ruleops.Streak {
		t.Helper()
		now := time.Now()
		err := store.RecordOutcomes(ctx, []clickhouse.Outcome{{RuleID: rule, RunID: uuid.New(), DeliveryID: delivery,
			Outcome: rulelog.Failed, Reason: "server_error: 503", At: now}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Failed(ctx, rule, "server_error: 503", now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := fail("d1"); s != (ruleops.Streak{Failures: 1}) {
		t.Fatalf("after one failure: %+v", s)
	}
	if s := fail("d2"); !s.Paused || s.Failures != 2 || !strings.Contains(s.Reason, "2 deliveries failed in a row") {
		t.Fatalf("after two failures: %+v", s)
	}
	if got := assertPaused(t, store, sched, rule, true); got.Failures != 2 {
		t.Fatalf("pause record: %+v", got)
	}

	// Resumed, the rule starts a new streak: the failures before do not count.
	time.Sleep(time.Millisecond) // the resume comes after the failures
	if err := ruleops.Resume(ctx, store, sched, rule, "resumed", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	if s := fail("d3"); s != (ruleops.Streak{Failures: 1}) {
		t.Fatalf("after a resume and one failure: %+v", s)
	}
}

func TestBackfillAgainstTheStore(t *testing.T) {
	store := testenv.ClickHouse(t)
	rule := uuid.New()
	now := time.Now().UTC()
	from, to := now.Add(-2*time.Hour).Truncate(time.Second), now.Add(-time.Hour).Truncate(time.Second)
	// The schedule is faked: a real trigger would start a tick no worker runs.
	sched := &fakeSchedules{}
	b, err := ruleops.Backfill(context.Background(), store, sched, rule, from, to, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Backfills(context.Background(), rule)
	if err != nil || len(got) != 1 || got[0].ID != b.ID || !got[0].From.Equal(from) || !got[0].To.Equal(to) || !got[0].DoneUpTo.Equal(from) {
		t.Fatalf("stored backfills %+v, %v; want %+v", got, err, b)
	}
	if len(sched.calls) != 1 {
		t.Fatalf("schedule calls: %s", sched)
	}
}
