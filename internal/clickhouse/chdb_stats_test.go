//go:build chdb

package clickhouse_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/schema"
)

// The feedback_stats queries on the current engine, over the fixture and
// hand-computed expectations that TestFeedbackStats uses on 18.16.
func TestChdbFeedbackStats(t *testing.T) {
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
	x := newStatsFixture()
	for _, w := range x.writes {
		rows := make([][]any, len(w))
		for i, f := range w {
			rows[i] = chdbFeedbackValues(f)
		}
		c.insert(t, clickhouse.InsertFeedbackSQL, rows...)
	}
	ids := uuidGroupSet(x.queried()...)

	perRun := map[uuid.UUID]runs.FeedbackStats{}
	for _, row := range c.rows(t, clickhouse.FeedbackStatsByRunSQL, ids) {
		run := uuid.MustParse(fmt.Sprint(row["run_id"]))
		if perRun[run] == nil {
			perRun[run] = runs.FeedbackStats{}
		}
		perRun[run][fmt.Sprint(row["key"])] = chdbKeyStats(t, row)
	}
	if len(perRun) != 2 {
		t.Errorf("stats for %d runs, want 2 (runs without feedback are absent): %v", len(perRun), perRun)
	}
	for _, run := range []uuid.UUID{x.run1, x.run2} {
		checkFeedbackStats(t, "run "+run.String(), perRun[run], x.perRun[run])
	}

	batch := runs.FeedbackStats{}
	for _, row := range c.rows(t, clickhouse.FeedbackStatsBatchSQL, ids) {
		batch[fmt.Sprint(row["key"])] = chdbKeyStats(t, row)
	}
	checkFeedbackStats(t, "batch", batch, x.batch)

	if rows := c.rows(t, clickhouse.FeedbackStatsBatchSQL, uuidGroupSet(x.run3)); len(rows) != 0 {
		t.Errorf("batch stats of a run without feedback = %v, want no rows", rows)
	}

	var with []string
	for _, row := range c.rows(t, clickhouse.RunsWithFeedbackSQL+" ORDER BY run_id", ids) {
		with = append(with, fmt.Sprint(row["run_id"]))
	}
	if want := sortedIDs(x.run1, x.run2); !reflect.DeepEqual(with, want) {
		t.Errorf("RunsWithFeedbackSQL = %v, want the runs with feedback %v", with, want)
	}
}

// chdbFeedbackValues is f in InsertFeedbackSQL's column order, as InsertFeedback appends it.
func chdbFeedbackValues(f runs.Feedback) []any {
	raw := func(m json.RawMessage) *string {
		if m == nil {
			return nil
		}
		s := string(m)
		return &s
	}
	return []any{f.ID, f.RunID, f.TraceID, f.SessionID, f.Key, f.Score, raw(f.Value), f.Comment,
		raw(f.Correction), raw(f.Source), runs.Micros(f.CreatedAt), runs.Micros(f.ModifiedAt)}
}

// chdbKeyStats reads one JSONEachRow row of the stats queries as the store scans it.
func chdbKeyStats(t *testing.T, row map[string]any) runs.KeyStats {
	t.Helper()
	num := func(col string) *float64 {
		v, ok := row[col]
		if !ok {
			t.Fatalf("no column %s in %v", col, row)
		}
		if v == nil {
			return nil
		}
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			t.Fatalf("column %s = %v: %v", col, v, err)
		}
		return &f
	}
	list := func(col string) []any {
		l, ok := row[col].([]any)
		if !ok {
			t.Fatalf("column %s = %#v, want an array", col, row[col])
		}
		return l
	}
	ks := runs.KeyStats{Avg: num("score_avg"), Stdev: num("score_stdev"), Min: num("score_min"), Max: num("score_max"),
		Values: map[string]uint64{}, Comments: []string{}}
	n, err := strconv.ParseUint(fmt.Sprint(row["n"]), 10, 64)
	if err != nil {
		t.Fatalf("n = %v: %v", row["n"], err)
	}
	ks.N = n
	names, counts := list("value_names"), list("value_counts")
	if len(names) != len(counts) {
		t.Fatalf("%d value names, %d counts", len(names), len(counts))
	}
	for i, name := range names {
		count, err := strconv.ParseUint(fmt.Sprint(counts[i]), 10, 64)
		if err != nil {
			t.Fatalf("value count %v: %v", counts[i], err)
		}
		ks.Values[fmt.Sprint(name)] = count
	}
	for _, comment := range list("comments") {
		ks.Comments = append(ks.Comments, fmt.Sprint(comment))
	}
	return ks
}
