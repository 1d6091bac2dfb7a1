//go:build chdb

// The delivery tables' query shapes on a current ClickHouse, with the
// harness of chdb_test.go. The rows are the values the store appends, except
// that UInt16 columns get a uint32: the harness's literals know no uint16,
// and the text written is the same.
package clickhouse_test

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/schema"
)

func flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func webhookRow(w clickhouse.Webhook) []any {
	return []any{w.RuleID, uint32(w.Index), w.URLSealed, w.URLRedacted, w.HeadersSealed,
		w.SigningSecretSealed, w.KeyID, runs.Micros(w.UpdatedAt), flag(w.Deleted), w.Format, w.Retry}
}

func attemptRow(a clickhouse.Attempt) []any {
	return []any{a.DeliveryID, a.RuleID, uint32(a.WebhookIndex), a.URLRedacted, a.Attempt,
		runs.Micros(a.StartedAt), uint64(a.Duration.Microseconds()), a.Class, uint32(a.StatusCode), a.Error}
}

func outcomeRow(o clickhouse.Outcome) []any {
	return []any{o.RuleID, o.RunID, uint32(o.WebhookIndex), o.DeliveryID, o.Outcome, o.Reason, runs.Micros(o.At)}
}

func pauseRow(p clickhouse.Pause) []any {
	return []any{p.RuleID, runs.Micros(p.At), p.Reason, p.Failures, flag(p.Paused)}
}

// wantColumns checks rows of a table without inserted_at against the
// values written, row by row and column by column.
func wantColumns(t *testing.T, got []map[string]any, cols []string, written ...[]any) {
	t.Helper()
	if len(got) != len(written) {
		t.Fatalf("read %d rows, want %d: %v", len(got), len(written), got)
	}
	for i, w := range written {
		want := map[string]any{}
		for j, col := range cols {
			want[col] = jsonOf(w[j])
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("row %d = %v\nwant %v", i, got[i], want)
		}
	}
}

func TestChdbDeliveries(t *testing.T) {
	c := openChdb(t)
	migrations, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			c.exec(t, stmt)
		}
	}

	t.Run("webhooks", func(t *testing.T) {
		cols := columnsOf(t, clickhouse.InsertWebhooksSQL)
		rule := uuid.New()
		w0, w1, w2 := webhook(rule, 0, "v1", at(0)), webhook(rule, 1, "v1", at(0)), webhook(rule, 2, "v1", at(0))
		w0b := webhook(rule, 0, "v2 'quoted' \\ ?", at(10))
		gone := webhook(rule, 1, "gone", at(10))
		gone.Deleted = true
		stale := webhook(rule, 2, "stale", at(-10))
		c.insert(t, clickhouse.InsertWebhooksSQL, webhookRow(w0), webhookRow(w1), webhookRow(w2), webhookRow(webhook(uuid.New(), 0, "other", at(0))))
		c.insert(t, clickhouse.InsertWebhooksSQL, webhookRow(w0b), webhookRow(gone))
		c.insert(t, clickhouse.InsertWebhooksSQL, webhookRow(stale))

		// The deletion must be applied after the newest version is picked, never before.
		wantColumns(t, c.rows(t, clickhouse.WebhooksSQL, rule), cols, webhookRow(w0b), webhookRow(w2))
		wantColumns(t, c.rows(t, clickhouse.WebhookSQL, rule, uint32(0)), cols, webhookRow(w0b))
		wantColumns(t, c.rows(t, clickhouse.WebhookSQL, rule, uint32(1)), cols, webhookRow(gone))
		wantColumns(t, c.rows(t, clickhouse.WebhookSQL, rule, uint32(3)), cols)
	})

	t.Run("delivery_attempts", func(t *testing.T) {
		cols := columnsOf(t, clickhouse.InsertAttemptsSQL)
		first := clickhouse.Attempt{DeliveryID: "d-1", RuleID: uuid.New(), WebhookIndex: 3, URLRedacted: "https://hooks.example.com/***",
			Attempt: 1, StartedAt: at(0), Duration: 5_001_234_000, Class: "timeout", Error: `Post "…": context deadline exceeded`}
		second := first
		second.Attempt, second.StartedAt, second.Class, second.StatusCode, second.Error = 2, at(6_000_000), "delivered", 204, ""
		other := first
		other.DeliveryID = "d-2"
		c.insert(t, clickhouse.InsertAttemptsSQL, attemptRow(second), attemptRow(other), attemptRow(first))
		got := c.rows(t, clickhouse.AttemptsSQL, "d-1")
		if len(got) != 2 {
			t.Fatalf("read %d attempts, want 2: %v", len(got), got)
		}
		wantRow(t, got[0], cols, attemptRow(first))
		wantRow(t, got[1], cols, attemptRow(second))
	})

	t.Run("delivery_outcomes", func(t *testing.T) {
		cols := columnsOf(t, clickhouse.InsertOutcomesSQL)
		rule := uuid.New()
		runA := uuid.MustParse("1a062838-e746-4489-a2e6-e284eaa9b692")
		runB := uuid.MustParse("2a9d4260-43e6-4123-9531-5a4992343616")
		aFailed := outcome(rule, runA, 0, "d1", rulelog.Failed, at(0))
		aDelivered := outcome(rule, runA, 0, "d2", rulelog.Delivered, at(10))
		aStale := outcome(rule, runA, 0, "d0", rulelog.Skipped, at(-10))
		aHook1 := outcome(rule, runA, 1, "d1", rulelog.Skipped, at(0))
		b := outcome(rule, runB, 0, "d1", rulelog.Delivered, at(0))
		c.insert(t, clickhouse.InsertOutcomesSQL, outcomeRow(aFailed), outcomeRow(aHook1), outcomeRow(b),
			outcomeRow(outcome(uuid.New(), runA, 0, "d9", rulelog.Failed, at(99))))
		c.insert(t, clickhouse.InsertOutcomesSQL, outcomeRow(aDelivered))
		c.insert(t, clickhouse.InsertOutcomesSQL, outcomeRow(aStale))

		got := c.rows(t, clickhouse.OutcomesSQL, rule, uuidGroupSet(runA, runB, uuid.New()))
		want := [][]any{outcomeRow(b), outcomeRow(aDelivered), outcomeRow(aHook1)} // server UUID order, then webhook
		if len(got) != len(want) {
			t.Fatalf("read %d outcomes, want %d: %v", len(got), len(want), got)
		}
		for i := range want {
			wantRow(t, got[i], cols, want[i])
		}
	})

	t.Run("StreakSliceSQL", func(t *testing.T) {
		// The streak as ConsecutiveFailedDeliveries counts it from one slice
		// that holds the whole history.
		streak := func(rule uuid.UUID) int {
			n := 0
			for _, row := range c.rows(t, clickhouse.StreakSliceSQL, rule, uint64(0), uint64(math.MaxUint64), uint64(100)) {
				if fmt.Sprint(row["any_delivered"]) == "1" {
					break
				}
				n++
			}
			return n
		}
		for _, sc := range streakCases {
			rule := uuid.New()
			var rows [][]any
			for _, o := range sc.outcomes(rule) {
				rows = append(rows, outcomeRow(o))
			}
			for i := len(rows) - 1; i >= 0; i-- {
				c.insert(t, clickhouse.InsertOutcomesSQL, rows[i])
			}
			if got := streak(rule); got != sc.want {
				t.Errorf("%s: %d, want %d", sc.name, got, sc.want)
			}
		}
		// A failed redelivery of the same run is one more failure.
		rule, run := uuid.New(), uuid.New()
		c.insert(t, clickhouse.InsertOutcomesSQL,
			outcomeRow(outcome(rule, uuid.New(), 0, "first", rulelog.Delivered, at(0))),
			outcomeRow(outcome(rule, run, 0, "second", rulelog.Failed, at(10))))
		c.insert(t, clickhouse.InsertOutcomesSQL, outcomeRow(outcome(rule, run, 0, "third", rulelog.Failed, at(20))))
		check := func(when string) {
			if got := streak(rule); got != 2 {
				t.Errorf("redelivered, %s: %d, want 2", when, got)
			}
		}
		check("before merging")
		c.exec(t, "OPTIMIZE TABLE delivery_outcomes FINAL")
		c.exec(t, "OPTIMIZE TABLE delivery_ends FINAL")
		check("after OPTIMIZE FINAL")
	})

	t.Run("rule log", func(t *testing.T) {
		rule, run, later := uuid.New(), uuid.New(), uuid.New()
		event := func(rule, run uuid.UUID, what, workflow string, when time.Time) []any {
			return []any{rule, run, what, "", runs.Micros(when), workflow}
		}
		c.insert(t, clickhouse.InsertEventsSQL, event(rule, run, rulelog.Matched, "tick-1", at(0)),
			event(rule, later, rulelog.Matched, "tick-2", at(50)), event(uuid.New(), run, rulelog.Matched, "other", at(60)))
		c.insert(t, clickhouse.InsertOutcomesSQL, outcomeRow(outcome(rule, run, 1, "d-1", rulelog.Failed, at(20))),
			outcomeRow(outcome(rule, run, 0, "d-0", rulelog.Delivered, at(10))), outcomeRow(outcome(rule, later, 0, "d-2", rulelog.Delivered, at(70))))
		wheres := func(rows []map[string]any) []string {
			var out []string
			for _, r := range rows {
				out = append(out, fmt.Sprint(r["where"], " ", r["event"], " ", r["webhook"]))
			}
			return out
		}
		all := []string{"d-2 delivered 0", "tick-2 matched -1", "d-1 failed 1", "d-0 delivered 0", "tick-1 matched -1"}
		if got := wheres(c.rows(t, clickhouse.RuleLogSQL, rule, rule, uint64(10))); !reflect.DeepEqual(got, all) {
			t.Errorf("RuleLogSQL = %q, want %q", got, all)
		}
		if got := wheres(c.rows(t, clickhouse.RuleLogSQL, rule, rule, uint64(2))); !reflect.DeepEqual(got, all[:2]) {
			t.Errorf("RuleLogSQL, limit 2 = %q, want %q", got, all[:2])
		}
		ofRun := []string{"d-1 failed 1", "d-0 delivered 0", "tick-1 matched -1"}
		if got := wheres(c.rows(t, clickhouse.RuleLogOfRunSQL, rule, run, rule, run, uint64(10))); !reflect.DeepEqual(got, ofRun) {
			t.Errorf("RuleLogOfRunSQL = %q, want %q", got, ofRun)
		}
	})

	t.Run("rule_pauses", func(t *testing.T) {
		cols := columnsOf(t, clickhouse.InsertPauseSQL)
		rule := uuid.New()
		paused := clickhouse.Pause{RuleID: rule, At: at(0), Reason: "5 failed deliveries in a row", Failures: 5, Paused: true}
		resumed := clickhouse.Pause{RuleID: rule, At: at(10), Reason: "resumed"}
		again := clickhouse.Pause{RuleID: rule, At: at(20), Reason: "again", Failures: 5, Paused: true}
		tie := clickhouse.Pause{RuleID: rule, At: at(20), Reason: "tie"}
		c.insert(t, clickhouse.InsertPauseSQL, pauseRow(again), pauseRow(tie), pauseRow(resumed), pauseRow(paused),
			pauseRow(clickhouse.Pause{RuleID: uuid.New(), At: at(30)}))
		wantColumns(t, c.rows(t, clickhouse.LatestPauseSQL, rule), cols, pauseRow(again))
		wantColumns(t, c.rows(t, clickhouse.LatestPauseSQL, uuid.New()), cols)
	})
}
