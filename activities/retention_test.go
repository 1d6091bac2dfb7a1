package activities

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/internal/testenv"
)

// Retention end to end on the real ClickHouse: rows written old and recent
// into the tables the rules and deliveries use (runs through its views into
// run_arrivals and run_keys), then ApplyRetention with a fixed config and
// clock.
func TestApplyRetentionDropsOldDaysOnly(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC)
	old, recent := time.Date(2025, 12, 1, 10, 0, 0, 0, time.UTC), now.Add(-26*time.Hour) // 2026-03-14

	exec := func(query string, args ...any) {
		t.Helper()
		if err := store.Exec(ctx, query, args...); err != nil {
			t.Fatalf("%v\n%s", err, query)
		}
	}
	for _, at := range []time.Time{old, recent} {
		run := uuid.NewString()
		exec(`INSERT INTO runs (id, trace_id, session_id, name, run_type, status, is_root, start_time, end_time, modified_at, inserted_at)
			SELECT toUUID(?), toUUID(?), toUUID(?), 'r', 'llm', 'success', 1, toUInt64(?), toUInt64(?), toUInt64(?), toDateTime(?)`,
			run, run, uuid.NewString(), at.UnixMicro(), at.UnixMicro(), at.UnixMicro(), at.Unix())
		exec(`INSERT INTO feedback (id, run_id, key, created_at, modified_at, inserted_at)
			SELECT toUUID(?), toUUID(?), 'k', toUInt64(?), toUInt64(?), toDateTime(?)`,
			uuid.NewString(), run, at.UnixMicro(), at.UnixMicro(), at.Unix())
		exec(`INSERT INTO rule_events (rule_id, run_id, event, reason, at, workflow_id)
			SELECT toUUID(?), toUUID(?), 'matched', '', toUInt64(?), 'w'`, uuid.NewString(), run, at.UnixMicro())
		exec(`INSERT INTO delivery_attempts (delivery_id, rule_id, webhook_idx, url_redacted, attempt, started_at, duration_us, class, status_code, error)
			SELECT 'd', toUUID(?), 0, 'https://h/', 1, toUInt64(?), 1, 'ok', 200, ''`, uuid.NewString(), at.UnixMicro())
		exec(`INSERT INTO rule_claims (rule_id, run_id, owner, at) SELECT toUUID(?), toUUID(?), 'o', toUInt64(?)`,
			uuid.NewString(), run, at.UnixMicro())
	}
	const oldDay, oldMonth, recentDay, recentMonth = "20251201", "202512", "20260314", "202603"
	present := func() map[string][]string {
		t.Helper()
		parts, err := store.Partitions(ctx, retention.Tables())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, p := range parts {
			out[p.Table] = append(out[p.Table], p.ID)
		}
		return out
	}
	both := func(a, b string) []string { return []string{a, b} }
	want := map[string][]string{
		"runs": both(oldDay, recentDay), "run_arrivals": both(oldDay, recentDay), "run_keys": both(oldMonth, recentMonth),
		"feedback": both(oldDay, recentDay), "feedback_arrivals": both(oldDay, recentDay), "feedback_keys": both(oldMonth, recentMonth),
		"rule_events": both(oldDay, recentDay), "delivery_attempts": both(oldDay, recentDay), "rule_claims": both(oldMonth, recentMonth),
	}
	if got := present(); !reflect.DeepEqual(got, want) {
		t.Fatalf("written: %v\nwant %v", got, want)
	}

	// The defaults: runs and feedback (and so their keys and the claims)
	// kept, arrivals 7 days, events and attempts 30 days.
	d := config.Default().Retention
	a := &Activities{Store: store, Retention: retention.Policy{
		Runs: d.Runs, Feedback: d.Feedback, Arrivals: d.Arrivals, Events: d.Events, Attempts: d.Attempts,
	}}
	res, err := a.ApplyRetention(ctx, RetentionInput{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res != (RetentionResult{Tables: 4, Partitions: 4}) {
		t.Errorf("result %+v, want 4 partitions of 4 tables", res)
	}
	for _, table := range []string{"run_arrivals", "feedback_arrivals", "rule_events", "delivery_attempts"} {
		want[table] = []string{recentDay}
	}
	if got := present(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the defaults: %v\nwant %v", got, want)
	}
	var n uint64
	if err := store.QueryRow(ctx, `SELECT count() FROM run_arrivals`).Scan(&n); err != nil || n != 1 {
		t.Errorf("run_arrivals holds %d rows (%v), want the recent one", n, err)
	}
	if res, err := a.ApplyRetention(ctx, RetentionInput{Now: now}); err != nil || res != (RetentionResult{}) {
		t.Errorf("again: %+v, %v; want nothing left to drop", res, err)
	}

	// Runs kept 30 days and arrivals 7: the old runs and their month of
	// run_keys go, and the claims a day after the longest (31 days), so
	// December's go and March's stay. Feedback is still kept.
	a.Retention.Runs = 30 * 24 * time.Hour
	res, err = a.ApplyRetention(ctx, RetentionInput{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res != (RetentionResult{Tables: 3, Partitions: 3}) {
		t.Errorf("result %+v, want runs, run_keys and rule_claims", res)
	}
	want["runs"], want["run_keys"], want["rule_claims"] = []string{recentDay}, []string{recentMonth}, []string{recentMonth}
	got := present()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after runs 30 days: %v\nwant %v", got, want)
	}
	if !slices.Equal(got["feedback"], both(oldDay, recentDay)) {
		t.Errorf("feedback, kept forever, lost a day: %v", got["feedback"])
	}
}

// On the fake: what the policy no longer keeps is dropped and counted; a
// drop that fails fails the attempt, and the drops before it stay done.
func TestApplyRetentionCountsWhatItDropped(t *testing.T) {
	s := newFakeStore()
	s.parts = []retention.Partition{
		{Table: "run_arrivals", ID: "20251201"}, {Table: "run_arrivals", ID: "20260314"},
		{Table: "rule_events", ID: "20251201"}, {Table: "runs", ID: "20251201"},
	}
	now := time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC)
	a := &Activities{Store: s, Retention: retention.Policy{Arrivals: 7 * 24 * time.Hour, Events: 30 * 24 * time.Hour}}

	s.dropFail = "rule_events"
	res, err := a.ApplyRetention(context.Background(), RetentionInput{Now: now})
	if err == nil || res != (RetentionResult{Tables: 1, Partitions: 1}) {
		t.Fatalf("with rule_events failing: %+v, %v", res, err)
	}
	s.dropFail = ""
	if res, err = a.ApplyRetention(context.Background(), RetentionInput{Now: now}); err != nil || res != (RetentionResult{Tables: 1, Partitions: 1}) {
		t.Fatalf("retried: %+v, %v", res, err)
	}
	want := []retention.Partition{{Table: "run_arrivals", ID: "20260314"}, {Table: "runs", ID: "20251201"}}
	if !reflect.DeepEqual(s.parts, want) {
		t.Fatalf("left %v, want %v", s.parts, want)
	}
}
