package clickhouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/filter"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

func matchRun(project uuid.UUID, name string, done bool) runs.Run {
	id := uuid.New()
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	r := runs.Run{ID: id, TraceID: id, SessionID: project, Name: name, RunType: "llm", Status: "running",
		IsRoot: true, StartTime: start, ModifiedAt: start}
	if done {
		end := start.Add(2 * time.Second)
		r.EndTime, r.Status, r.ModifiedAt = &end, "success", end
	}
	return r
}

func idStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	slices.Sort(out)
	return out
}

func wideWindow(t *testing.T, store *clickhouse.Store) clickhouse.Window {
	now, err := store.ServerNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return clickhouse.Window{After: now.Add(-time.Hour), UpTo: now.Add(time.Hour)}
}

func TestMatchRunsWindowClaimsAndFeedback(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project, other := uuid.New(), uuid.New()
	done1, done2, running, elsewhere := matchRun(project, "a", true), matchRun(project, "b", true), matchRun(project, "c", false), matchRun(other, "d", true)
	if err := store.InsertRuns(ctx, []runs.Run{done1, done2, running, elsewhere}); err != nil {
		t.Fatal(err)
	}
	rule := uuid.New()
	m := clickhouse.Match{RuleID: rule, Project: project, Window: wideWindow(t, store), SamplingRate: 1, Owner: "tick-1/p0", Limit: 100}

	got, err := store.MatchRuns(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if want := idStrings([]uuid.UUID{done1.ID, done2.ID}); !slices.Equal(idStrings(got), want) {
		t.Fatalf("match = %v, want the completed runs of the project %v", idStrings(got), want)
	}

	// A filter narrows it.
	if m.Filter, err = filter.Parse(`eq(name, "b")`); err != nil {
		t.Fatal(err)
	}
	got, err = store.MatchRuns(ctx, m)
	if err != nil || len(got) != 1 || got[0] != done2.ID {
		t.Fatalf("filtered match = %v, %v; want [%s]", got, err, done2.ID)
	}
	m.Filter = nil

	// Claims by another owner exclude; the owner's own claims do not.
	if err := store.Claim(ctx, rule, []uuid.UUID{done1.ID}, "tick-1/p0", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.MatchRuns(ctx, m); len(got) != 2 {
		t.Fatalf("owner's retry sees %d runs, want both again", len(got))
	}
	m.Owner = "tick-2/p0"
	if got, _ := store.MatchRuns(ctx, m); len(got) != 1 || got[0] != done2.ID {
		t.Fatalf("another owner sees %v, want only the unclaimed run", got)
	}
	m.KeepClaimed = true
	if got, _ := store.MatchRuns(ctx, m); len(got) != 2 {
		t.Fatalf("KeepClaimed sees %v, want both runs, claimed or not", got)
	}
	m.KeepClaimed = false
	counts, err := store.ClaimCounts(ctx, rule)
	if err != nil || counts[done1.ID] != 1 || len(counts) != 1 {
		t.Fatalf("claim counts %v, %v", counts, err)
	}

	// A window that saw no run write but saw feedback brings the run in.
	time.Sleep(1100 * time.Millisecond) // server time has whole seconds
	now, _ := store.ServerNow(ctx)
	score := 1.0
	if err := store.InsertFeedback(ctx, []runs.Feedback{{ID: uuid.New(), RunID: done2.ID, Key: "usefulness", Score: &score,
		CreatedAt: time.Now(), ModifiedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	m.Window = clickhouse.Window{After: now.Add(-time.Second), UpTo: now.Add(time.Hour)}
	m.Owner = "tick-3/p0"
	got, err = store.MatchRuns(ctx, m)
	if err != nil || len(got) != 1 || got[0] != done2.ID {
		t.Fatalf("feedback window = %v, %v; want the scored run", got, err)
	}
	ready, err := store.Ready(ctx, []uuid.UUID{done1.ID, done2.ID}, []string{"usefulness", "usefulness"})
	if err != nil || len(ready) != 1 || ready[0] != done2.ID {
		t.Fatalf("ready = %v, %v; want the scored run", ready, err)
	}
	if ready, _ := store.Ready(ctx, []uuid.UUID{done2.ID}, []string{"usefulness", "other"}); len(ready) != 0 {
		t.Fatalf("ready with a missing key = %v", ready)
	}
}

func TestMatchRunsSamplingIsStable(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project := uuid.New()
	var rs []runs.Run
	for i := 0; i < 400; i++ {
		rs = append(rs, matchRun(project, "r", true))
	}
	if err := store.InsertRuns(ctx, rs); err != nil {
		t.Fatal(err)
	}
	m := clickhouse.Match{RuleID: uuid.New(), Project: project, Window: wideWindow(t, store), SamplingRate: 0.5, Owner: "o", Limit: 1000}
	first, err := store.MatchRuns(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := store.MatchRuns(ctx, m)
	if !slices.Equal(first, again) {
		t.Fatal("the same rule sampled different runs on a second reading")
	}
	// 400 draws at p=0.5: 5 standard deviations is ±50.
	if n := len(first); n < 150 || n > 250 {
		t.Fatalf("sampled %d of 400 at rate 0.5", n)
	}
	m.SamplingRate = 0
	if none, _ := store.MatchRuns(ctx, m); len(none) != 0 {
		t.Fatalf("rate 0 sampled %d runs", len(none))
	}
}

// Every field of the filter language compiles into a match query (and a
// trace filter) that ClickHouse runs.
func TestMatchRunsReadsWhatEachFieldNeeds(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project := uuid.New()
	if err := store.InsertRuns(ctx, []runs.Run{matchRun(project, "a", true)}); err != nil {
		t.Fatal(err)
	}
	w := wideWindow(t, store)
	for _, src := range []string{
		`eq(id, "6ab80f10-d79c-4fa2-b441-922ed6feb630")`, `eq(trace_id, "6ab80f10-d79c-4fa2-b441-922ed6feb630")`,
		`eq(name, "a")`, `eq(run_type, "llm")`, `eq(status, "success")`, `eq(is_root, true)`,
		`gt(start_time, "2024-01-01T00:00:00Z")`, `gt(end_time, "2024-01-01T00:00:00Z")`, `gt(latency, "1s")`,
		`gt(total_tokens, 1)`, `gt(prompt_tokens, 1)`, `gt(completion_tokens, 1)`, `gt(total_cost, 0.1)`,
		`eq(error, true)`, `has(tags, "x")`, `search("x")`,
		`and(eq(metadata_key, "k"), eq(metadata_value, "v"))`, `and(eq(input_key, "k"), eq(input_value, "v"))`,
		`and(eq(output_key, "k"), eq(output_value, "v"))`, `and(eq(feedback_key, "k"), gt(feedback_score, 0.5))`,
		`eq(feedback_value, "good")`,
	} {
		e, err := filter.Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		m := clickhouse.Match{RuleID: uuid.New(), Project: project, Window: w, SamplingRate: 1, Owner: "o", Limit: 10,
			Filter: e, TraceFilter: e, Recent: 15 * time.Minute}
		if _, err := store.MatchRuns(ctx, m); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestMatchRunsTraceFilterTestsTheRoot(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project := uuid.New()
	rootA, rootB := matchRun(project, "qa_agent", true), matchRun(project, "other", true)
	childA, childB := matchRun(project, "call", true), matchRun(project, "call", true)
	childA.TraceID, childA.IsRoot, childB.TraceID, childB.IsRoot = rootA.ID, false, rootB.ID, false
	rootA.RunType, rootB.RunType = "chain", "chain"
	if err := store.InsertRuns(ctx, []runs.Run{rootA, rootB, childA, childB}); err != nil {
		t.Fatal(err)
	}
	w := wideWindow(t, store)
	parse := func(src string) filter.Expr {
		e, err := filter.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	m := clickhouse.Match{RuleID: uuid.New(), Project: project, Window: w, SamplingRate: 1, Owner: "o", Limit: 10}
	m.Filter = parse(`eq(run_type, "llm")`)
	m.TraceFilter = parse(`eq(name, "qa_agent")`)
	got, err := store.MatchRuns(ctx, m)
	if err != nil || len(got) != 1 || got[0] != childA.ID {
		t.Fatalf("match = %v, %v; want only the llm run of the qa_agent trace", got, err)
	}
}

// What the window's range cannot decide is checked by id: a search of the
// documents, feedback stored before the recent range, and a run given
// feedback in the window that was written before the range.
func TestMatchRunsChecksByIDWhatTheRangeCannotDecide(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project := uuid.New()
	now, err := store.ServerNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// writeRun stores a completed run of the project as if written at.
	writeRun := func(name, inputs string, start, at time.Time) uuid.UUID {
		t.Helper()
		id := uuid.New()
		if err := store.Exec(ctx, `INSERT INTO runs (id, trace_id, session_id, name, run_type, status, is_root, start_time, end_time, modified_at, inputs, inserted_at)
			SELECT toUUID(?), toUUID(?), toUUID(?), ?, 'llm', 'success', 1, toUInt64(?), toUInt64(?), toUInt64(?), ?, toDateTime(?)`,
			id.String(), id.String(), project.String(), name, start.UnixMicro(), at.UnixMicro(), at.UnixMicro(), inputs, at.Unix()); err != nil {
			t.Fatal(err)
		}
		return id
	}
	writeFeedback := func(run uuid.UUID, key string, at time.Time) {
		t.Helper()
		if err := store.Exec(ctx, `INSERT INTO feedback (id, run_id, session_id, key, score, created_at, modified_at, inserted_at)
			SELECT generateUUIDv4(), toUUID(?), toUUID(?), ?, 1, toUInt64(?), toUInt64(?), toDateTime(?)`,
			run.String(), project.String(), key, at.UnixMicro(), at.UnixMicro(), at.Unix()); err != nil {
			t.Fatal(err)
		}
	}
	hoursAgo, minuteAgo := now.Add(-3*time.Hour), now.Add(-time.Minute)
	needle := writeRun("a", `{"q":"find the needle"}`, minuteAgo, now)
	plain := writeRun("b", `{"q":"nothing here"}`, minuteAgo, now)
	// Started hours ago, ended now; scored while it ran.
	long := writeRun("c", `{}`, hoursAgo, now)
	writeFeedback(long, "early", now.Add(-2*time.Hour))
	// Written hours ago, scored now.
	old := writeRun("d", `{}`, hoursAgo.Add(-time.Minute), hoursAgo)
	writeFeedback(old, "late", now)

	w := clickhouse.Window{After: now.Add(-time.Minute), UpTo: now.Add(time.Minute)}
	for _, tc := range []struct {
		src  string
		want []uuid.UUID
	}{
		{`search("needle")`, []uuid.UUID{needle}},
		{`not(search("needle"))`, []uuid.UUID{plain, long, old}},
		{`eq(feedback_key, "early")`, []uuid.UUID{long}},
		{`eq(feedback_key, "late")`, []uuid.UUID{old}},
		{`eq(name, "d")`, []uuid.UUID{old}},
	} {
		e, err := filter.Parse(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		m := clickhouse.Match{RuleID: uuid.New(), Project: project, Window: w, Filter: e, SamplingRate: 1,
			Owner: "o", Limit: 10, Recent: 15 * time.Minute}
		got, err := store.MatchRuns(ctx, m)
		if err != nil || !slices.Equal(idStrings(got), idStrings(tc.want)) {
			t.Errorf("%s: match = %v, %v; want %v", tc.src, idStrings(got), err, idStrings(tc.want))
		}
	}
}
