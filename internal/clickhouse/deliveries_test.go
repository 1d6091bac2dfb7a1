package clickhouse_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// t0 has microsecond precision, as every stored time.
var t0 = time.Date(2024, 4, 5, 1, 28, 54, 85646000, time.UTC)

func at(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }

func webhook(rule uuid.UUID, idx uint16, version string, updated time.Time) clickhouse.Webhook {
	return clickhouse.Webhook{RuleID: rule, Index: idx,
		URLSealed: "sealed:" + version, URLRedacted: fmt.Sprintf("https://hooks.example.com/%d/***", idx),
		HeadersSealed: "headers:" + version, SigningSecretSealed: "", KeyID: "k1", UpdatedAt: updated}
}

func TestAttemptsRoundTrip(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	rule := uuid.New()
	first := clickhouse.Attempt{DeliveryID: "d-1", RuleID: rule, WebhookIndex: 3, URLRedacted: "https://hooks.example.com/***",
		Attempt: 1, StartedAt: at(0), Duration: 5*time.Second + 1234*time.Microsecond, Class: "timeout",
		Error: `Post "https://hooks.example.com/***": context deadline exceeded`}
	second := first
	second.Attempt, second.StartedAt, second.Duration = 2, at(6_000_000), 250*time.Millisecond
	second.Class, second.StatusCode, second.Error = "server_error", 503, ""
	third := second
	third.Attempt, third.StartedAt, third.Class, third.StatusCode = 3, at(9_000_000), "delivered", 204
	elsewhere := first
	elsewhere.DeliveryID = "d-2"
	// Written out of order: the read orders by attempt.
	for _, a := range []clickhouse.Attempt{third, first, elsewhere, second} {
		if err := store.RecordAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.Attempts(ctx, "d-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d attempts, want 3: %+v", len(got), got)
	}
	for i, want := range []clickhouse.Attempt{first, second, third} {
		if got[i].InsertedAt.IsZero() {
			t.Errorf("attempt %d: inserted_at not set by the server", i+1)
		}
		got[i].InsertedAt = time.Time{}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("attempt %d =\n%+v\nwant\n%+v", i+1, got[i], want)
		}
	}
	if got, err := store.Attempts(ctx, "d-unknown"); err != nil || len(got) != 0 {
		t.Errorf("Attempts of an unknown delivery = %v, %v", got, err)
	}
	bad := first
	bad.Duration = -time.Second
	if err := store.RecordAttempt(ctx, bad); err == nil {
		t.Error("a negative duration was written")
	}
}

func outcome(rule, run uuid.UUID, idx uint16, delivery, what string, when time.Time) clickhouse.Outcome {
	return clickhouse.Outcome{RuleID: rule, RunID: run, WebhookIndex: idx, DeliveryID: delivery,
		Outcome: what, Reason: what + " reason", At: when}
}

func TestOutcomesLatest(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	rule, other := uuid.New(), uuid.New()
	// Fixed ids whose string order is the reverse of the server's UUID order.
	runA := uuid.MustParse("1a062838-e746-4489-a2e6-e284eaa9b692")
	runB := uuid.MustParse("2a9d4260-43e6-4123-9531-5a4992343616")
	aFailed := outcome(rule, runA, 0, "d1", rulelog.Failed, at(0))
	aDelivered := outcome(rule, runA, 0, "d2", rulelog.Delivered, at(10))
	aStale := outcome(rule, runA, 0, "d0", rulelog.Skipped, at(-10)) // written last, older
	aHook1 := outcome(rule, runA, 1, "d1", rulelog.Skipped, at(0))
	b := outcome(rule, runB, 0, "d1", rulelog.Delivered, at(0))
	elsewhere := outcome(other, runA, 0, "d9", rulelog.Failed, at(99))
	for _, batch := range [][]clickhouse.Outcome{{aFailed, aHook1, b, elsewhere}, {aDelivered}, {aStale}, nil} {
		if err := store.RecordOutcomes(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.Outcomes(ctx, rule, []uuid.UUID{runA, runB, uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	want := []clickhouse.Outcome{b, aDelivered, aHook1} // server UUID order, then webhook
	for i := range got {
		if got[i].InsertedAt.IsZero() {
			t.Errorf("outcome %d: inserted_at not set by the server", i)
		}
		got[i].InsertedAt = time.Time{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Outcomes =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := store.Outcomes(ctx, rule, nil); err != nil || got != nil {
		t.Errorf("Outcomes of no runs = %v, %v", got, err)
	}

	if err := store.RecordOutcomes(ctx, []clickhouse.Outcome{b, outcome(rule, runB, 0, "d3", "sent", at(20))}); err == nil {
		t.Error(`outcome "sent" was accepted`)
	}
	if got, _ := store.Outcomes(ctx, rule, []uuid.UUID{runB}); len(got) != 1 || got[0].DeliveryID != "d1" {
		t.Errorf("a rejected batch wrote rows: %+v", got)
	}
}

// A streakCase is a rule's history of deliveries, oldest first, each given as
// the outcomes of its runs (each run its own, to webhook 0), and the failure
// streak it ends with. The modern-engine test runs the same cases.
type streakCase struct {
	name       string
	deliveries [][]string
	want       int
}

var streakCases = []streakCase{
	{"none", nil, 0},
	{"only failed", [][]string{{"failed"}, {"failed", "failed"}, {"failed"}}, 3},
	{"failed since the last delivered", [][]string{{"failed"}, {"delivered"}, {"failed"}, {"failed", "failed"}}, 2},
	{"delivered last", [][]string{{"failed"}, {"failed"}, {"delivered"}}, 0},
	{"skips neither count nor break", [][]string{{"delivered"}, {"failed"}, {"skipped", "skipped"}, {"failed"}, {"skipped"}}, 2},
	{"any delivered makes a delivery delivered", [][]string{{"failed"}, {"failed", "delivered"}, {"failed"}}, 1},
	{"skipped and failed is failed", [][]string{{"delivered"}, {"skipped", "failed"}}, 1},
	{"only skips", [][]string{{"skipped"}, {"skipped"}}, 0},
}

// outcomes of a case for a rule: deliveries a millisecond apart, their runs
// a microsecond apart.
func (c streakCase) outcomes(rule uuid.UUID) []clickhouse.Outcome {
	var out []clickhouse.Outcome
	for i, d := range c.deliveries {
		for j, what := range d {
			out = append(out, outcome(rule, uuid.New(), 0, fmt.Sprint("delivery-", i), what, at(i*1000+j)))
		}
	}
	return out
}

func TestConsecutiveFailedDeliveries(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	const (
		D = rulelog.Delivered
		F = rulelog.Failed
	)
	for _, c := range streakCases {
		t.Run(c.name, func(t *testing.T) {
			rule := uuid.New()
			outs := c.outcomes(rule)
			// Newest first, in separate inserts: the count must not depend on write order.
			for i := len(outs) - 1; i >= 0; i-- {
				if err := store.RecordOutcomes(ctx, outs[i:i+1]); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, 100); err != nil || got != c.want {
				t.Errorf("ConsecutiveFailedDeliveries = %d, %v; want %d", got, err, c.want)
			}
			// Counted up to the pause threshold, which is all a caller needs.
			if c.want > 1 {
				if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, c.want-1); err != nil || got != c.want-1 {
					t.Errorf("ConsecutiveFailedDeliveries up to %d = %d, %v", c.want-1, got, err)
				}
			}
		})
	}

	t.Run("interleaved rules and webhooks", func(t *testing.T) {
		rule, other := uuid.New(), uuid.New()
		run1, run2 := uuid.New(), uuid.New()
		outs := []clickhouse.Outcome{
			outcome(rule, run1, 0, "a", D, at(0)),
			outcome(rule, run1, 1, "a", F, at(1)), // a: delivered to one webhook
			outcome(other, run1, 0, "x", F, at(2)),
			outcome(rule, run2, 0, "b", F, at(10)),
			outcome(rule, run2, 1, "b", F, at(11)),
			outcome(other, run2, 0, "y", F, at(12)),
		}
		if err := store.RecordOutcomes(ctx, outs); err != nil {
			t.Fatal(err)
		}
		for r, want := range map[uuid.UUID]int{rule: 1, other: 2} {
			if got, err := store.ConsecutiveFailedDeliveries(ctx, r, time.Time{}, 100); err != nil || got != want {
				t.Errorf("rule %s: %d, %v; want %d", r, got, err, want)
			}
		}
	})

	// A redelivery is a delivery of its own: two failed deliveries of the
	// same run are two failures in a row, before and after merges.
	t.Run("redelivered runs", func(t *testing.T) {
		rule, run := uuid.New(), uuid.New()
		outs := []clickhouse.Outcome{
			outcome(rule, uuid.New(), 0, "first", D, at(0)),
			outcome(rule, run, 0, "second", F, at(10)),
			outcome(rule, run, 0, "third", F, at(20)),
		}
		for i := range outs {
			if err := store.RecordOutcomes(ctx, outs[i:i+1]); err != nil {
				t.Fatal(err)
			}
		}
		check := func(when string) {
			if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, 100); err != nil || got != 2 {
				t.Errorf("%s: %d, %v; want 2", when, got, err)
			}
		}
		check("before merging")
		optimizeFinal(t, store, "delivery_outcomes")
		optimizeFinal(t, store, "delivery_ends")
		check("after OPTIMIZE FINAL")
	})

	// The streak is read back from now in slices: deliveries of this hour,
	// of days ago and of years ago are counted across them, and the newest
	// delivered one ends the count wherever it falls.
	t.Run("across slices", func(t *testing.T) {
		rule := uuid.New()
		now := time.Now()
		outs := []clickhouse.Outcome{
			outcome(rule, uuid.New(), 0, "years ago", D, now.Add(-3*365*24*time.Hour)),
			outcome(rule, uuid.New(), 0, "days ago", F, now.Add(-50*time.Hour)),
			outcome(rule, uuid.New(), 0, "an hour ago", F, now.Add(-time.Hour)),
			outcome(rule, uuid.New(), 0, "a minute ago", F, now.Add(-time.Minute)),
			outcome(rule, uuid.New(), 0, "ahead", F, now.Add(time.Minute)), // a worker clock running ahead
		}
		if err := store.RecordOutcomes(ctx, outs); err != nil {
			t.Fatal(err)
		}
		if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, 100); err != nil || got != 4 {
			t.Errorf("streak = %d, %v; want 4", got, err)
		}
		if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, now.Add(-2*time.Hour), 100); err != nil || got != 3 {
			t.Errorf("streak since a resume 2 h ago = %d, %v; want 3", got, err)
		}
		if err := store.RecordOutcomes(ctx, []clickhouse.Outcome{outcome(rule, uuid.New(), 0, "days ago too", D, now.Add(-49*time.Hour))}); err != nil {
			t.Fatal(err)
		}
		if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, 100); err != nil || got != 3 {
			t.Errorf("streak after a delivery 49 h ago = %d, %v; want 3", got, err)
		}
	})
}

// optimizeFinal merges every part of a table now, as the server would some
// time later, on a connection of its own: the store has no statement for it.
func optimizeFinal(t *testing.T, store *clickhouse.Store, table string) {
	t.Helper()
	cfg := testenv.Config(t).ClickHouse
	conn, err := ch.Open(&ch.Options{Addr: []string{cfg.Addr},
		Auth: ch.Auth{Database: store.Database(), Username: cfg.Username, Password: cfg.Password}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Exec(context.Background(), "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
		t.Fatal(err)
	}
}

// The lookups on the delivery path (a rule's webhooks, the outcomes of a
// batch of runs, the failure streak) read ranges of their sort keys, not the
// tables. Each insert of 200,000 rows makes two parts of 100,000 (the
// configured batch size), and a key lookup reads a granule or two of 8,192
// rows in each.
func TestDeliveryLookupsUseSortKey(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	const n, granule = 200_000, 8192
	rule, small := uuid.New(), uuid.New()
	hooks := make([]clickhouse.Webhook, 0, n)
	outcomes := make([]clickhouse.Outcome, 0, n)
	runIDs := make([]uuid.UUID, 0, n)
	for i := 0; i < n; i++ {
		hooks = append(hooks, webhook(uuid.New(), uint16(i%3), "v1", at(i)))
		runIDs = append(runIDs, uuid.New())
		// Deliveries of 100 runs each, all failed; a few of another rule.
		r := rule
		if i%10_000 == 0 {
			r = small
		}
		outcomes = append(outcomes, outcome(r, runIDs[i], 0, fmt.Sprint("d", i/100), rulelog.Failed, at(i)))
	}
	if err := store.PutWebhooks(ctx, hooks); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordOutcomes(ctx, outcomes); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		name  string
		query string
		args  []any
	}{
		{"WebhooksSQL", clickhouse.WebhooksSQL, []any{hooks[n/2].RuleID}},
		{"WebhookSQL", clickhouse.WebhookSQL, []any{hooks[n/2].RuleID, hooks[n/2].Index}},
		{"OutcomesSQL", clickhouse.OutcomesSQL, []any{rule, ch.GroupSet{Value: []any{runIDs[n/2].String()}}}},
		{"OutcomesSQL (unknown rule)", clickhouse.OutcomesSQL, []any{uuid.New(), ch.GroupSet{Value: []any{runIDs[n/2].String()}}}},
		{"StreakSliceSQL (small rule)", clickhouse.StreakSliceSQL, []any{small, uint64(0), uint64(math.MaxUint64), uint64(11)}},
		{"StreakSliceSQL (newest deliveries)", clickhouse.StreakSliceSQL, []any{rule, runs.Micros(at(n - 1000)), uint64(math.MaxUint64), uint64(11)}},
	} {
		read, err := clickhousetest.RowsRead(ctx, store, q.query, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		if read > 4*granule {
			t.Errorf("%s read %d rows of %d; the sort key is not used", q.name, read, n)
		}
	}
	if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, n); err != nil || got != n/100 {
		t.Errorf("ConsecutiveFailedDeliveries = %d, %v; want %d", got, err, n/100)
	}
	// A resumption starts a new streak: nothing after it, nothing counted.
	if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Now().Add(time.Hour), n); err != nil || got != 0 {
		t.Errorf("ConsecutiveFailedDeliveries since a later resume = %d, %v; want 0", got, err)
	}
}
