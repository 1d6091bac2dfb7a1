package clickhouse_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/testenv"
)

func TestRulesBackfillsAndLog(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	id := uuid.New()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	if err := store.PutRule(ctx, clickhouse.StoredRule{ID: id, Name: "r", Spec: `{}`, Fingerprint: "f1", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutRule(ctx, clickhouse.StoredRule{ID: id, Name: "r", Spec: `{}`, Fingerprint: "f2", CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	r, ok, err := store.Rule(ctx, id)
	if err != nil || !ok || r.Fingerprint != "f2" || !r.CreatedAt.Equal(t0) {
		t.Fatalf("rule = %+v %v %v", r, ok, err)
	}
	all, err := store.Rules(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("rules = %v, %v", all, err)
	}
	if err := store.PutRule(ctx, clickhouse.StoredRule{ID: id, Name: "r", CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Second), Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := store.Rule(ctx, id); ok {
		t.Fatal("deleted rule still read")
	}
	if all, _ := store.Rules(ctx); len(all) != 0 {
		t.Fatalf("deleted rule still listed: %v", all)
	}

	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := clickhouse.Backfill{RuleID: id, ID: "b1", From: from, To: from.Add(time.Hour), DoneUpTo: from, RequestedAt: t0, UpdatedAt: t0}
	if err := store.PutBackfill(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.DoneUpTo, b.UpdatedAt = b.To, t0.Add(time.Second)
	if err := store.PutBackfill(ctx, b); err != nil {
		t.Fatal(err)
	}
	bs, err := store.Backfills(ctx, id)
	if err != nil || len(bs) != 1 || !bs[0].Done() || !bs[0].From.Equal(from) {
		t.Fatalf("backfills = %+v, %v", bs, err)
	}

	run := uuid.New()
	if err := store.RecordEvents(ctx, []clickhouse.Event{{RuleID: id, RunID: run, Event: rulelog.Matched, At: t0, WorkflowID: "w"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordOutcomes(ctx, []clickhouse.Outcome{{RuleID: id, RunID: run, DeliveryID: "d", Outcome: rulelog.Delivered, At: t0.Add(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	log, err := store.RuleLog(ctx, id, 10)
	if err != nil || len(log) != 2 || log[0].Event != "delivered" || log[1].Event != "matched" || log[1].Webhook != -1 {
		t.Fatalf("log = %+v, %v", log, err)
	}
}

func TestLatestPause(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	rule, other := uuid.New(), uuid.New()
	if _, ok, err := store.LatestPause(ctx, rule); err != nil || ok {
		t.Fatalf("LatestPause of a rule never paused: %v, %v", ok, err)
	}
	paused := clickhouse.Pause{RuleID: rule, At: at(0), Reason: "5 failed deliveries in a row", Failures: 5, Paused: true}
	resumed := clickhouse.Pause{RuleID: rule, At: at(10), Reason: "resumed by an operator"}
	again := clickhouse.Pause{RuleID: rule, At: at(20), Reason: "5 failed deliveries in a row", Failures: 5, Paused: true}
	tiedResume := clickhouse.Pause{RuleID: rule, At: at(20), Reason: "tie"}
	// Newest first: the read orders by at, not by arrival.
	for _, p := range []clickhouse.Pause{again, tiedResume, {RuleID: other, At: at(30), Reason: "other"}, resumed, paused} {
		if err := store.RecordPause(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok, err := store.LatestPause(ctx, rule); err != nil || !ok || !reflect.DeepEqual(got, again) {
		t.Errorf("LatestPause = %+v, %v, %v; want %+v (a pause wins a tie)", got, ok, err, again)
	}
	later := clickhouse.Pause{RuleID: rule, At: at(21), Reason: "resumed"}
	if err := store.RecordPause(ctx, later); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := store.LatestPause(ctx, rule); err != nil || !ok || !reflect.DeepEqual(got, later) {
		t.Errorf("LatestPause = %+v, %v, %v; want %+v", got, ok, err, later)
	}
	if err := store.RecordPause(ctx, clickhouse.Pause{RuleID: rule}); err == nil {
		t.Error("a pause without a time was written")
	}
}

// A run's entries are found however many entries about other runs came
// after them, and only the rule's.
func TestRuleLogOfRun(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	rule, other, run := uuid.New(), uuid.New(), uuid.New()
	t0 := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	events := []clickhouse.Event{{RuleID: rule, RunID: run, Event: rulelog.Matched, At: t0, WorkflowID: "tick-1"},
		{RuleID: other, RunID: run, Event: rulelog.Matched, At: t0, WorkflowID: "tick-other"}}
	for i := range 30 {
		events = append(events, clickhouse.Event{RuleID: rule, RunID: uuid.New(), Event: rulelog.Matched, At: t0.Add(time.Minute + time.Duration(i)*time.Second), WorkflowID: "tick-2"})
	}
	if err := store.RecordEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordOutcomes(ctx, []clickhouse.Outcome{
		{RuleID: rule, RunID: run, WebhookIndex: 0, DeliveryID: "d-0", Outcome: rulelog.Delivered, At: t0.Add(time.Second)},
		{RuleID: rule, RunID: run, WebhookIndex: 1, DeliveryID: "d-1", Outcome: rulelog.Failed, Reason: "HTTP 500", At: t0.Add(2 * time.Second)},
		{RuleID: other, RunID: run, DeliveryID: "d-other", Outcome: rulelog.Delivered, At: t0.Add(3 * time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	newest, err := store.RuleLog(ctx, rule, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range newest {
		if e.RunID == run {
			t.Fatalf("the run is among the rule's 10 newest entries; the test needs it older: %+v", newest)
		}
	}
	got, err := store.RuleLogOfRun(ctx, rule, run, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []clickhouse.LogEntry{
		{At: t0.Add(2 * time.Second), RunID: run, Event: rulelog.Failed, Reason: "HTTP 500", Where: "d-1", Webhook: 1},
		{At: t0.Add(time.Second), RunID: run, Event: rulelog.Delivered, Where: "d-0", Webhook: 0},
		{At: t0, RunID: run, Event: rulelog.Matched, Where: "tick-1", Webhook: -1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RuleLogOfRun = %+v\nwant %+v", got, want)
	}
	if got, err := store.RuleLogOfRun(ctx, rule, run, 2); err != nil || !reflect.DeepEqual(got, want[:2]) {
		t.Errorf("RuleLogOfRun, limit 2 = %+v, %v; want the 2 newest", got, err)
	}
	if got, err := store.RuleLogOfRun(ctx, rule, uuid.New(), 10); err != nil || len(got) != 0 {
		t.Errorf("RuleLogOfRun of a run the rule never saw = %+v, %v", got, err)
	}
}
