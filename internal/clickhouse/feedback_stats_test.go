package clickhouse_test

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// statsFixture is feedback on three queried runs and one other, with the
// feedback_stats worked out by hand. Run 1 has numeric, categorical and
// commented feedback under two keys, and two rows written twice where only the
// newer version may count; run 2 has one score and one categorical value
// with a \u escape; run 3 has no feedback; the other run's feedback must not
// leak into the batch.
type statsFixture struct {
	run1, run2, run3, other uuid.UUID
	writes                  [][]runs.Feedback // inserted in this order, one batch each
	perRun                  map[uuid.UUID]runs.FeedbackStats
	batch                   runs.FeedbackStats
}

func newStatsFixture() statsFixture {
	x := statsFixture{run1: uuid.New(), run2: uuid.New(), run3: uuid.New(), other: uuid.New()}
	t0 := time.Date(2024, 4, 5, 1, 28, 55, 0, time.UTC)
	// value and comment "" stand for null.
	fb := func(run uuid.UUID, key string, sec int, score *float64, value, comment string) runs.Feedback {
		f := runs.Feedback{ID: uuid.New(), RunID: run, Key: key, Score: score,
			CreatedAt: t0.Add(time.Duration(sec) * time.Second)}
		f.ModifiedAt = f.CreatedAt
		if value != "" {
			f.Value = json.RawMessage(value)
		}
		if comment != "" {
			f.Comment = &comment
		}
		return f
	}
	revise := func(f runs.Feedback, edit func(*runs.Feedback)) runs.Feedback {
		f.ModifiedAt = f.ModifiedAt.Add(time.Minute)
		edit(&f)
		return f
	}

	wrong := fb(x.run1, "correctness", 2, statsF64(0), `{"label":"wrong"}`, "")
	wrong.Comment = new(string) // empty, not null: still not listed
	closeOld := fb(x.run1, "correctness", 3, statsF64(0.25), `"close"`, "old")
	closeNew := revise(closeOld, func(f *runs.Feedback) {
		comment := "close enough"
		f.Score, f.Value, f.Comment = statsF64(0.5), nil, &comment
	})
	labelOld := fb(x.run1, "label", 5, nil, `"bad"`, "")
	labelNew := revise(labelOld, func(f *runs.Feedback) { f.Value = json.RawMessage(`"useful"`) })
	x.writes = [][]runs.Feedback{
		{
			fb(x.run1, "correctness", 1, statsF64(1.0), "", "right"),
			wrong,
			closeOld,
			fb(x.run1, "label", 4, nil, `"useful"`, ""),
			labelOld,
			fb(x.run1, "label", 6, nil, `"not \"useful\""`, ""),
			fb(x.run1, "label", 7, statsF64(2.0), `3`, ""), // a number is not a category
			fb(x.run2, "correctness", 0, statsF64(1.0), "", "ok"),
			fb(x.run2, "note", 8, nil, `"\u00e9t\u00e9"`, `see "below"`),
			fb(x.other, "correctness", 9, statsF64(0.0), `"useful"`, "elsewhere"),
		},
		{closeNew},
		{labelNew},
	}

	none := map[string]uint64{}
	correctness1 := runs.KeyStats{N: 3, Avg: statsF64(0.5), Stdev: statsF64(math.Sqrt(1.0 / 6)), Min: statsF64(0.0), Max: statsF64(1.0),
		Values: none, Comments: []string{"right", "close enough"}}
	label1 := runs.KeyStats{N: 4, Avg: statsF64(2.0), Stdev: statsF64(0.0), Min: statsF64(2.0), Max: statsF64(2.0),
		Values: map[string]uint64{"useful": 2, `not "useful"`: 1}, Comments: []string{}}
	correctness2 := runs.KeyStats{N: 1, Avg: statsF64(1.0), Stdev: statsF64(0.0), Min: statsF64(1.0), Max: statsF64(1.0),
		Values: none, Comments: []string{"ok"}}
	note2 := runs.KeyStats{N: 1, Values: map[string]uint64{"été": 1}, Comments: []string{`see "below"`}}
	x.perRun = map[uuid.UUID]runs.FeedbackStats{
		x.run1: {"correctness": correctness1, "label": label1},
		x.run2: {"correctness": correctness2, "note": note2},
	}
	// Scores 1, 0, 0.5, 1: mean 0.625, squared deviations sum to 0.6875.
	x.batch = runs.FeedbackStats{
		"correctness": {N: 4, Avg: statsF64(0.625), Stdev: statsF64(math.Sqrt(0.6875 / 4)), Min: statsF64(0.0), Max: statsF64(1.0),
			Values: none, Comments: []string{"ok", "right", "close enough"}},
		"label": label1,
		"note":  note2,
	}
	return x
}

// queried is what FeedbackStats is asked about: an unknown run too.
func (x statsFixture) queried() []uuid.UUID { return []uuid.UUID{x.run1, x.run2, x.run3, uuid.New()} }

// checkFeedbackStats compares stats field by field; floats to 1e-12, as the server
// may sum in another order than the hand computation.
func checkFeedbackStats(t *testing.T, what string, got, want runs.FeedbackStats) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: keys %v, want %v", what, statsKeys(got), statsKeys(want))
	}
	for key, w := range want {
		g, ok := got[key]
		if !ok {
			t.Errorf("%s: key %q missing", what, key)
			continue
		}
		for _, f := range []struct {
			name      string
			got, want *float64
		}{{"avg", g.Avg, w.Avg}, {"stdev", g.Stdev, w.Stdev}, {"min", g.Min, w.Min}, {"max", g.Max, w.Max}} {
			switch {
			case (f.got == nil) != (f.want == nil):
				t.Errorf("%s[%q].%s = %v, want %v", what, key, f.name, statsFmt(f.got), statsFmt(f.want))
			case f.got != nil && math.Abs(*f.got-*f.want) > 1e-12:
				t.Errorf("%s[%q].%s = %v, want %v", what, key, f.name, *f.got, *f.want)
			}
		}
		if g.N != w.N || !reflect.DeepEqual(g.Values, w.Values) || !reflect.DeepEqual(g.Comments, w.Comments) {
			t.Errorf("%s[%q]: n %d values %v comments %q; want n %d values %v comments %q",
				what, key, g.N, g.Values, g.Comments, w.N, w.Values, w.Comments)
		}
	}
}

func statsF64(v float64) *float64 { return &v }

// statsIDSet binds ids as the store does (uuidSet).
func statsIDSet(ids ...uuid.UUID) ch.GroupSet {
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id.String()
	}
	return ch.GroupSet{Value: vals}
}

func statsKeys(s runs.FeedbackStats) []string {
	var keys []string
	for k := range s {
		keys = append(keys, k)
	}
	return keys
}

func statsFmt(f *float64) any {
	if f == nil {
		return "null"
	}
	return *f
}

func TestFeedbackStats(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	x := newStatsFixture()
	for _, w := range x.writes {
		if err := store.InsertFeedback(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	perRun, batch, err := store.FeedbackStats(ctx, x.queried())
	if err != nil {
		t.Fatal(err)
	}
	if len(perRun) != 2 {
		t.Errorf("stats for %d runs, want 2 (runs without feedback are absent): %v", len(perRun), perRun)
	}
	for _, run := range []uuid.UUID{x.run1, x.run2} {
		checkFeedbackStats(t, "run "+run.String(), perRun[run], x.perRun[run])
	}
	checkFeedbackStats(t, "batch", batch, x.batch)

	// The other run on its own: its feedback was there all along.
	perRun, batch, err = store.FeedbackStats(ctx, []uuid.UUID{x.other})
	if err != nil {
		t.Fatal(err)
	}
	if got := batch["correctness"]; len(perRun) != 1 || len(batch) != 1 || got.N != 1 || got.Values["useful"] != 1 {
		t.Errorf("other run: perRun %v batch %v", perRun, batch)
	}
	// A batch of one run is that run's stats, taken without the batch query.
	for _, run := range []uuid.UUID{x.run1, x.run2} {
		_, batch, err := store.FeedbackStats(ctx, []uuid.UUID{run})
		if err != nil {
			t.Fatal(err)
		}
		checkFeedbackStats(t, "batch of run "+run.String()+" alone", batch, x.perRun[run])
	}
}

func TestFeedbackStatsNone(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	for _, ids := range [][]uuid.UUID{nil, {uuid.New()}} {
		perRun, batch, err := store.FeedbackStats(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(perRun) != 0 || batch != nil {
			t.Errorf("FeedbackStats(%v) = %v, %v; want no stats", ids, perRun, batch)
		}
	}
}

// Both stats queries read a few index ranges of feedback's sort key, not the table.
func TestFeedbackStatsUsesSortKey(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	var rows []runs.Feedback
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := 0; i < 100_000; i++ {
		rows = append(rows, runs.Feedback{ID: uuid.New(), RunID: uuid.New(), Key: "k", Score: statsF64(1.0),
			CreatedAt: now, ModifiedAt: now})
	}
	if err := store.InsertFeedback(ctx, rows); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{clickhouse.RunsWithFeedbackSQL, clickhouse.FeedbackStatsByRunSQL, clickhouse.FeedbackStatsBatchSQL} {
		read, err := clickhousetest.RowsRead(ctx, store, q, statsIDSet(rows[0].RunID, uuid.New()))
		if err != nil {
			t.Fatal(err)
		}
		if read > 3*8192 {
			t.Errorf("stats for two runs read %d rows; the sort key is not used:\n%s", read, q)
		}
	}
}
