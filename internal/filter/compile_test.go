package filter_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/filter"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// Fixture runs, named r1..r5. r1, r2 and r3 are one trace in project
// session; r4 is a root run in project session; r5 is in another project, so
// feedback on it is out of scope.
var (
	session = uuid.MustParse("00000000-0000-4000-8000-0000000000aa")
	other   = uuid.MustParse("00000000-0000-4000-8000-0000000000bb")
	runIDs  = map[string]uuid.UUID{
		"r1": uuid.MustParse("00000000-0000-4000-8000-000000000001"),
		"r2": uuid.MustParse("00000000-0000-4000-8000-000000000002"),
		"r3": uuid.MustParse("00000000-0000-4000-8000-000000000003"),
		"r4": uuid.MustParse("00000000-0000-4000-8000-000000000004"),
		"r5": uuid.MustParse("00000000-0000-4000-8000-000000000005"),
	}
	base = time.Date(2024, 4, 5, 1, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func at(d time.Duration) *time.Time { return ptr(base.Add(d)) }

func fixtureRuns() []runs.Run {
	trace := runIDs["r3"]
	mk := func(name string, sess uuid.UUID, trace uuid.UUID) runs.Run {
		return runs.Run{
			ID: runIDs[name], TraceID: trace, SessionID: sess, Status: "success",
			ModifiedAt: base.Add(time.Hour), StartTime: base, Tags: []string{},
		}
	}
	r1 := mk("r1", session, trace)
	r1.Name, r1.RunType = "ChatOpenAI", "llm"
	r1.EndTime = at(2 * time.Second)
	r1.TotalTokens, r1.PromptTokens, r1.CompletionTokens = 100, 60, 40
	r1.TotalCost = ptr(0.5)
	r1.Tags = []string{"prod", "beta"}
	r1.Extra = json.RawMessage(`{"metadata":{"env":"prod","user":"alice","n":3}}`)
	r1.Inputs = json.RawMessage(`{"question":"What is the capital of France?"}`)
	r1.Outputs = json.RawMessage(`{"answer":"Paris"}`)

	r2 := mk("r2", session, trace)
	r2.Name, r2.RunType, r2.Status = "Retriever", "retriever", "error"
	r2.StartTime = base.Add(time.Second)
	r2.EndTime = at(time.Second + 200*time.Millisecond)
	r2.Error = ptr("Timeout talking to the DB")
	r2.Tags = []string{"beta"}
	r2.Extra = json.RawMessage(`{"metadata":{"env":"dev","user":"prod"}}`)
	r2.Inputs = json.RawMessage(`{"query":"capital"}`)

	r3 := mk("r3", session, trace)
	r3.Name, r3.RunType, r3.Status, r3.IsRoot = "Agent", "chain", "pending", true
	r3.StartTime = base.Add(-time.Second)
	r3.TotalTokens, r3.PromptTokens, r3.CompletionTokens = 1000, 900, 100
	r3.TotalCost = ptr(2.25)
	r3.Extra = json.RawMessage(`{"metadata":{"env":"staging","n":3.0}}`)
	r3.Inputs = json.RawMessage(`{"q":"hello"}`)

	r4 := mk("r4", session, runIDs["r4"])
	r4.Name, r4.RunType, r4.IsRoot = "chatopenai-mini", "llm", true
	r4.StartTime = time.Date(2024, 4, 6, 0, 0, 0, 500000000, time.UTC)
	r4.EndTime = ptr(r4.StartTime.Add(10 * time.Second))
	r4.TotalTokens, r4.PromptTokens, r4.CompletionTokens = 5000, 4000, 1000
	r4.TotalCost = ptr(0.01)
	r4.Tags = []string{"prod"}
	r4.Extra = json.RawMessage(`{"metadata":{"env":"prod","n":"3","flag":true}}`)
	r4.Inputs = json.RawMessage(`{"question":"Paris?"}`)
	r4.Outputs = json.RawMessage(`{"answer":"yes","score":0.9}`)

	r5 := mk("r5", other, runIDs["r5"])
	r5.Name, r5.RunType, r5.IsRoot = "Elsewhere", "tool", true
	r5.EndTime = at(time.Second)

	// An older version of r1 under another name: every read must see the latest.
	old := r1
	old.Name, old.ModifiedAt, old.EndTime = "Stale", base, nil
	return []runs.Run{old, r1, r2, r3, r4, r5}
}

func fixtureFeedback() []runs.Feedback {
	fb := func(n int, run, key string, score *float64, value string, modified time.Duration) runs.Feedback {
		f := runs.Feedback{
			ID:    uuid.MustParse("00000000-0000-4000-9000-00000000000" + string(rune('0'+n))),
			RunID: runIDs[run], Key: key, Score: score,
			CreatedAt: base, ModifiedAt: base.Add(modified),
		}
		if value != "" {
			f.Value = json.RawMessage(value)
		}
		return f
	}
	return []runs.Feedback{
		fb(1, "r1", "correctness", ptr(1.0), "", 0),
		fb(2, "r1", "vibe", nil, `"good"`, 0),
		fb(3, "r2", "correctness", ptr(1.0), "", 0),
		fb(3, "r2", "correctness", ptr(0.0), "", time.Minute), // later version wins
		fb(4, "r3", "vibe", ptr(0.5), `"bad"`, 0),
		fb(5, "r3", "count", nil, `3`, 0),
		fb(6, "r5", "correctness", ptr(1.0), "", 0),
	}
}

// fixture opens a private database holding the fixture runs and feedback.
func fixture(t testing.TB) *clickhouse.Store {
	t.Helper()
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	if err := store.InsertRuns(ctx, fixtureRuns()); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertFeedback(ctx, fixtureFeedback()); err != nil {
		t.Fatal(err)
	}
	return store
}

// projectScope is the runs of the fixture's main project.
var projectScope = filter.Scope{SQL: "SELECT id FROM runs WHERE session_id = ?", Args: []any{session.String()}}

// match runs a compiled filter the way rules do, over the latest version of
// each run, and returns the names (r1..r5) of the runs it matches.
func match(t testing.TB, store *clickhouse.Store, sql string, args []any) ([]string, error) {
	t.Helper()
	query := `SELECT groupArray(toString(id)) FROM (
    SELECT * FROM runs ORDER BY id, modified_at DESC LIMIT 1 BY id
) WHERE (` + sql + `)`
	var ids []string
	if err := store.QueryRow(context.Background(), query, args...).Scan(&ids); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		for name, rid := range runIDs {
			if rid.String() == id {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func TestCompileOnClickHouse(t *testing.T) {
	store := fixture(t)
	cases := []struct {
		filter string
		want   string // matching runs, space separated
	}{
		// id, trace_id
		{`eq(id, "00000000-0000-4000-8000-000000000002")`, "r2"},
		{`eq(id, "00000000-0000-4000-8000-00000000000A")`, ""},
		{`neq(id, "00000000-0000-4000-8000-000000000002")`, "r1 r3 r4 r5"},
		{`in(id, ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000004"])`, "r1 r4"},
		{`eq(trace_id, "00000000-0000-4000-8000-000000000003")`, "r1 r2 r3"},
		{`neq(trace_id, "00000000-0000-4000-8000-000000000003")`, "r4 r5"},
		{`in(trace_id, ["00000000-0000-4000-8000-000000000004"])`, "r4"},
		// name, run_type, status
		{`eq(name, "ChatOpenAI")`, "r1"},
		{`eq(name, "Stale")`, ""},
		{`neq(name, "ChatOpenAI")`, "r2 r3 r4 r5"},
		{`search(name, "chatopenai")`, "r1 r4"},
		{`in(name, ["Agent", "Retriever", "nope"])`, "r2 r3"},
		{`eq(run_type, "llm")`, "r1 r4"},
		{`in(run_type, ["chain", "tool"])`, "r3 r5"},
		{`neq(run_type, "llm")`, "r2 r3 r5"},
		{`eq(status, "error")`, "r2"},
		{`search(status, "PEND")`, "r3"},
		// is_root
		{`eq(is_root, true)`, "r3 r4 r5"},
		{`eq(is_root, false)`, "r1 r2"},
		{`neq(is_root, true)`, "r1 r2"},
		// times: naive is UTC, fractions, offsets, dates
		{`gt(start_time, "2024-04-05T01:00:00Z")`, "r2 r4"},
		{`gte(start_time, "2024-04-05T01:00:00Z")`, "r1 r2 r4 r5"},
		{`lt(start_time, "2024-04-05T01:00:00")`, "r3"},
		{`eq(start_time, "2024-04-05T01:00:01.000000")`, "r2"},
		{`eq(start_time, "2024-04-06T00:00:00.5Z")`, "r4"},
		{`eq(start_time, "2024-04-06T02:00:00.500+02:00")`, "r4"},
		{`lte(start_time, "2024-04-05 01:00:00")`, "r1 r3 r5"},
		{`gt(start_time, "2024-04-06")`, "r4"},
		{`gt(end_time, "2024-04-05T01:00:01.5Z")`, "r1 r4"},
		{`lt(end_time, "2024-04-05T01:00:01.5Z")`, "r2 r5"},
		{`neq(end_time, "2024-04-05T01:00:02Z")`, "r2 r3 r4 r5"},
		{`eq(end_time, null)`, "r3"},
		{`neq(end_time, null)`, "r1 r2 r4 r5"},
		{`exists(end_time)`, "r1 r2 r4 r5"},
		// latency: durations, seconds, null end_time
		{`gt(latency, "5s")`, "r4"},
		{`gt(latency, "1.5s")`, "r1 r4"},
		{`lte(latency, "200ms")`, "r2"},
		{`lt(latency, "200ms")`, ""},
		{`eq(latency, "2s")`, "r1"},
		{`gt(latency, 2)`, "r4"},
		{`gte(latency, 2)`, "r1 r4"},
		{`lt(latency, 0.5)`, "r2"},
		{`neq(latency, 2)`, "r2 r3 r4 r5"},
		{`not(gt(latency, 1))`, "r2 r3 r5"},
		{`eq(latency, null)`, "r3"},
		{`exists(latency)`, "r1 r2 r4 r5"},
		// tokens
		{`gt(total_tokens, 100)`, "r3 r4"},
		{`gte(total_tokens, 100)`, "r1 r3 r4"},
		{`eq(total_tokens, 0)`, "r2 r5"},
		{`gt(total_tokens, -1)`, "r1 r2 r3 r4 r5"},
		{`lt(prompt_tokens, 100.5)`, "r1 r2 r5"},
		{`neq(completion_tokens, 100)`, "r1 r2 r4 r5"},
		{`lte(completion_tokens, 40)`, "r1 r2 r5"},
		// cost
		{`gt(total_cost, 0.1)`, "r1 r3"},
		{`lt(total_cost, 1)`, "r1 r4"},
		{`eq(total_cost, 2.25)`, "r3"},
		{`neq(total_cost, 2.25)`, "r1 r2 r4 r5"},
		{`eq(total_cost, null)`, "r2 r5"},
		{`exists(total_cost)`, "r1 r3 r4"},
		{`not(lt(total_cost, 1))`, "r2 r3 r5"},
		// error
		{`eq(error, true)`, "r2"},
		{`eq(error, false)`, "r1 r3 r4 r5"},
		{`neq(error, false)`, "r2"},
		{`neq(error, null)`, "r2"},
		{`eq(error, null)`, "r1 r3 r4 r5"},
		{`exists(error)`, "r2"},
		{`eq(error, "Timeout talking to the DB")`, "r2"},
		{`neq(error, "Timeout talking to the DB")`, "r1 r3 r4 r5"},
		{`search(error, "timeout")`, "r2"},
		// tags
		{`has(tags, "prod")`, "r1 r4"},
		{`has(tags, "beta")`, "r1 r2"},
		{`not(has(tags, "beta"))`, "r3 r4 r5"},
		{`in(tags, ["beta", "nope"])`, "r1 r2"},
		{`search(tags, "ET")`, "r1 r2"},
		{`exists(tags)`, "r1 r2 r4"},
		{`or(has(tags, "experimental"), has(tags, "beta"))`, "r1 r2"},
		// full-text search: name, error, inputs, outputs
		{`search("capital")`, "r1 r2"},
		{`search("PARIS")`, "r1 r4"},
		{`search("talking")`, "r2"},
		{`search("agent")`, "r3"},
		{`search("no such text")`, ""},
		{`search("")`, "r1 r2 r3 r4 r5"},
		// metadata pairs
		{`eq(metadata_key, "user")`, "r1 r2"},
		{`eq(metadata_value, "prod")`, "r1 r2 r4"},
		{`and(eq(metadata_key, "env"), eq(metadata_value, "prod"))`, "r1 r4"},
		{`and(eq(metadata_key, "user"), eq(metadata_value, "prod"))`, "r2"},
		{`and(eq(metadata_value, "prod"), eq(metadata_key, "user"), eq(name, "Retriever"))`, "r2"},
		{`and(eq(metadata_key, "env"), and(eq(metadata_value, "alice")))`, "r1"},
		{`or(eq(metadata_key, "user"), eq(metadata_value, "staging"))`, "r1 r2 r3"},
		{`neq(metadata_key, "user")`, "r3 r4 r5"},
		{`and(neq(metadata_key, "user"))`, "r3 r4 r5"},
		{`and(eq(metadata_key, "env"), neq(metadata_value, "prod"))`, "r2 r3"},
		{`and(neq(metadata_key, "user"), neq(metadata_value, "staging"))`, "r4 r5"},
		{`and(neq(metadata_key, "user"), eq(metadata_value, "prod"))`, "r4"},
		{`not(and(eq(metadata_key, "env"), eq(metadata_value, "prod")))`, "r2 r3 r5"},
		{`and(in(metadata_key, ["user", "env"]), eq(metadata_value, "staging"))`, "r3"},
		{`and(eq(metadata_key, "n"), eq(metadata_value, 3))`, "r1 r3 r4"},
		{`and(eq(metadata_key, "n"), eq(metadata_value, "3"))`, "r1 r4"},
		{`and(eq(metadata_key, "n"), gt(metadata_value, 2.5))`, "r1 r3 r4"},
		{`and(eq(metadata_key, "n"), neq(metadata_value, 3))`, ""},
		{`and(eq(metadata_key, "flag"), eq(metadata_value, true))`, "r4"},
		{`and(eq(metadata_key, "env"), gt(metadata_value, "q"))`, "r3"},
		{`and(search(metadata_key, "EN"), search(metadata_value, "stag"))`, "r3"},
		{`in(metadata_value, ["alice", "dev"])`, "r1 r2"},
		{`eq(metadata_value, null)`, ""},
		// inputs and outputs
		{`eq(input_key, "question")`, "r1 r4"},
		{`and(eq(input_key, "question"), search(input_value, "paris"))`, "r4"},
		{`and(eq(input_key, "q"), eq(input_value, "capital"))`, ""},
		{`and(eq(input_key, "query"), eq(input_value, "capital"))`, "r2"},
		{`search(input_value, "capital")`, "r1 r2"},
		{`and(eq(output_key, "answer"), eq(output_value, "Paris"))`, "r1"},
		{`and(eq(output_key, "score"), gte(output_value, 0.9))`, "r4"},
		{`neq(output_key, "answer")`, "r2 r3 r5"},
		// feedback rows, latest version, in scope
		{`eq(feedback_key, "correctness")`, "r1 r2"},
		{`and(eq(feedback_key, "correctness"), eq(feedback_score, 1))`, "r1"},
		{`and(eq(feedback_key, "correctness"), eq(feedback_score, 0.0))`, "r2"},
		{`and(eq(feedback_key, "vibe"), gt(feedback_score, 0.1))`, "r3"},
		{`and(eq(feedback_key, "correctness"), gt(feedback_score, 0.1))`, "r1"},
		{`and(eq(feedback_key, "vibe"), eq(feedback_score, 1))`, ""},
		{`and(eq(feedback_key, "vibe"), eq(feedback_value, "good"))`, "r1"},
		{`and(eq(feedback_key, "vibe"), neq(feedback_value, "good"))`, "r3"},
		{`and(eq(feedback_key, "correctness"), eq(feedback_value, "good"))`, ""},
		{`eq(feedback_value, "bad")`, "r3"},
		{`eq(feedback_value, 3)`, "r3"},
		{`search(feedback_value, "OO")`, "r1"},
		{`in(feedback_value, ["good", "meh"])`, "r1"},
		{`and(eq(feedback_key, "vibe"), eq(feedback_score, null))`, "r1"},
		{`and(eq(feedback_key, "vibe"), exists(feedback_score))`, "r3"},
		{`gt(feedback_score, 0.9)`, "r1"},
		{`neq(feedback_key, "correctness")`, "r3 r4 r5"},
		{`neq(feedback_score, 0.5)`, "r1 r2 r4 r5"},
		{`exists(feedback_key)`, "r1 r2 r3"},
		{`not(exists(feedback_key))`, "r4 r5"},
		{`in(feedback_key, ["count", "nope"])`, "r3"},
		{`search(feedback_key, "CORR")`, "r1 r2"},
		{`and(eq(feedback_key, "correctness"), eq(name, "Retriever"))`, "r2"},
		{`or(eq(feedback_key, "count"), eq(feedback_score, 0))`, "r2 r3"},
		{`and(gt(start_time, "2023-07-15T12:34:56Z"), or(neq(error, null), and(eq(feedback_key, "correctness"), eq(feedback_score, 1.0))))`, "r1 r2"},
		// nesting
		{`and(eq(run_type, "llm"), gt(total_tokens, 1000))`, "r4"},
		{`or(eq(run_type, "chain"), and(eq(run_type, "llm"), lt(total_tokens, 1000)))`, "r1 r3"},
		{`not(or(eq(run_type, "llm"), eq(is_root, true)))`, "r2"},
		{`not(not(eq(name, "Agent")))`, "r3"},
		{`and(or(has(tags, "experimental"), has(tags, "beta")), gt(latency, 2))`, ""},
		{`and(or(has(tags, "prod"), has(tags, "beta")), gt(latency, 1))`, "r1 r4"},
		{``, "r1 r2 r3 r4 r5"},
	}
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := filter.Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			sql, args, err := filter.Compile(e, projectScope)
			if err != nil {
				t.Fatal(err)
			}
			got, err := match(t, store, sql, args)
			if err != nil {
				t.Fatalf("%v\nSQL: %s\nargs: %#v", err, sql, args)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("matched %q, want %q\nSQL: %s\nargs: %#v", strings.Join(got, " "), tc.want, sql, args)
			}
		})
	}
}

func TestCompileScope(t *testing.T) {
	store := fixture(t)
	e, err := filter.Parse(`and(eq(feedback_key, "correctness"), eq(feedback_score, 1))`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		scope filter.Scope
		want  string
	}{
		{"project", projectScope, "r1"},
		{"all feedback", filter.Scope{}, "r1 r5"},
		{"other project", filter.Scope{SQL: "SELECT id FROM runs WHERE session_id = ? AND is_root = ?", Args: []any{other.String(), 1}}, "r5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sql, args, err := filter.Compile(e, tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			got, err := match(t, store, sql, args)
			if err != nil {
				t.Fatalf("%v\nSQL: %s", err, sql)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("matched %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
	// Scope args are spliced in at each use, in order.
	two, err := filter.Parse(`and(eq(feedback_key, "vibe"), or(eq(name, "x"), neq(feedback_key, "count")))`)
	if err != nil {
		t.Fatal(err)
	}
	sql, args, err := filter.Compile(two, projectScope)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sql, "?"); n != len(args) {
		t.Fatalf("%d placeholders, %d args", n, len(args))
	}
	if got, err := match(t, store, sql, args); err != nil || strings.Join(got, " ") != "r1" {
		t.Errorf("matched %q, %v; want r1", got, err)
	}
}

func TestCompileNil(t *testing.T) {
	sql, args, err := filter.Compile(nil, projectScope)
	if sql != "1" || args != nil || err != nil {
		t.Errorf("Compile(nil) = %q, %v, %v", sql, args, err)
	}
}

// Compile checks Exprs built in Go as Parse checks source.
func TestCompileInvalid(t *testing.T) {
	deep := filter.Expr(&filter.Cmp{Op: "eq", Field: "name", Value: filter.Value{Kind: filter.String}})
	for i := 0; i < filter.MaxDepth+1; i++ {
		deep = &filter.Not{Arg: deep}
	}
	for _, tc := range []struct {
		name string
		e    filter.Expr
		want string
	}{
		{"unknown field", &filter.Cmp{Op: "eq", Field: "nope", Value: filter.Value{Kind: filter.String}}, `filter: unknown field "nope"`},
		{"wrong type", &filter.Cmp{Op: "gt", Field: "total_tokens", Value: filter.Value{Kind: filter.String}}, "filter: total_tokens needs a number, got a string"},
		{"empty and", &filter.And{}, "filter: and() needs at least one condition"},
		{"empty or", &filter.Or{}, "filter: or() needs at least one condition"},
		{"nil not", &filter.Not{}, "filter: not() needs a condition"},
		{"deep", deep, "filter: filter nests and/or/not deeper than 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := filter.Compile(tc.e, filter.Scope{})
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// The SQL shapes that `starter rules get` shows.
func TestCompileShapes(t *testing.T) {
	for _, tc := range []struct{ filter, sql string }{
		{`eq(name, "x")`, `name = ?`},
		{`in(name, ["a", "b"])`, `name IN ?`},
		{`gt(latency, "5s")`, `ifNull(toInt64(end_time) - toInt64(start_time) > ?, 0)`},
		{`eq(metadata_key, "k")`, `has(metadata_keys, ?)`},
		{`neq(metadata_key, "k")`, `NOT (has(metadata_keys, ?))`},
		{`and(eq(metadata_key, "k"), eq(metadata_value, "v"))`, `arrayExists((k, v) -> k = ? AND v = ?, metadata_keys, metadata_values)`},
		{`and(eq(name, "x"), or(has(tags, "a"), not(exists(error))))`, `(name = ? AND (has(tags, ?) OR NOT (isNotNull(error))))`},
		{`and(eq(feedback_key, "k"), gt(feedback_score, 0))`, `id IN (SELECT run_id FROM (SELECT id, run_id, key, score, value FROM feedback ORDER BY run_id, id, modified_at DESC, inserted_at DESC LIMIT 1 BY run_id, id) WHERE key = ? AND ifNull(score > ?, 0))`},
	} {
		e, err := filter.Parse(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		sql, _, err := filter.Compile(e, filter.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if sql != tc.sql {
			t.Errorf("%s:\n got %s\nwant %s", tc.filter, sql, tc.sql)
		}
	}
}

// The largest filters Compile accepts still run on ClickHouse 18.16 (query
// size, AST size), and anything larger is refused with a clear error.
func TestCompileLarge(t *testing.T) {
	store := fixture(t)
	build := func(op, cond string, n int) string {
		return op + "(" + strings.TrimSuffix(strings.Repeat(cond+", ", n), ", ") + ")"
	}
	for _, tc := range []struct{ name, op, cond string }{
		{"tags", "and", `has(tags, "a")`},
		{"search", "or", `search("a")`},
		{"feedback", "or", `eq(feedback_key, "a")`},
		{"one pair", "and", `eq(metadata_key, "a"), eq(metadata_value, "b")`},
		{"long text", "or", `search("` + strings.Repeat("é", 8000) + `")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compiles := func(n int) (string, []any, bool) {
				e, err := filter.Parse(build(tc.op, tc.cond, n))
				if err != nil {
					t.Fatalf("n=%d: %v", n, err)
				}
				sql, args, err := filter.Compile(e, projectScope)
				if err != nil && !strings.Contains(err.Error(), "bytes of SQL; the limit is") {
					t.Fatal(err)
				}
				return sql, args, err == nil
			}
			lo, hi := 1, 1
			for len(build(tc.op, tc.cond, hi*2)) <= filter.MaxLength {
				hi *= 2
				if _, _, ok := compiles(hi); !ok {
					break
				}
			}
			if _, _, ok := compiles(hi); ok {
				lo = hi
			}
			for lo+1 < hi { // largest n that compiles
				mid := (lo + hi) / 2
				if _, _, ok := compiles(mid); ok {
					lo = mid
				} else {
					hi = mid
				}
			}
			sql, args, _ := compiles(lo)
			t.Logf("%d conditions, %d bytes of SQL", lo, len(sql))
			if _, err := match(t, store, sql, args); err != nil {
				t.Fatalf("%d conditions (%d bytes of SQL): %v", lo, len(sql), err)
			}
		})
	}
}
