package filter_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/filter"
)

var fuzzSeeds = []string{
	``, ` `, `eq(name, "x")`, `eq(name,'x')`, `neq(run_type, "llm")`, `in(status, ["error", "pending"])`,
	`search("image classification")`, `search(name, "chat")`, `search(error, "")`,
	`eq(id, "00000000-0000-4000-8000-000000000001")`, `in(trace_id, ["00000000-0000-4000-8000-000000000003"])`,
	`gt(start_time, "2023-07-15T12:34:56Z")`, `lte(end_time, "2024-04-05T01:28:54.085646")`, `eq(end_time, null)`,
	`exists(end_time)`, `gt(latency, "5s")`, `lt(latency, "200ms")`, `gte(latency, 1.5)`, `eq(latency, null)`,
	`gt(total_tokens, 5000)`, `lt(prompt_tokens, -1)`, `eq(completion_tokens, 1e300)`,
	`gt(total_cost, 0.5)`, `neq(total_cost, null)`, `exists(total_cost)`,
	`eq(error, true)`, `neq(error, null)`, `eq(error, "boom")`, `exists(error)`, `eq(is_root, true)`,
	`has(tags, "beta")`, `in(tags, ["a", "b"])`, `search(tags, "x")`, `exists(tags)`,
	`eq(metadata_key, 'user_id')`, `and(eq(metadata_key, 'user_id'), eq(metadata_value, '4070f233'))`,
	`and(neq(metadata_key, 'conversation_id'))`, `and(eq(metadata_key, "n"), gt(metadata_value, 2.5))`,
	`and(in(metadata_key, ["session_id","conversation_id","thread_id"]), eq(metadata_value, "g"))`,
	`and(eq(input_key, "q"), search(input_value, "paris"))`, `eq(output_value, null)`, `eq(output_value, true)`,
	`and(eq(feedback_key, "star_rating"), gt(feedback_score, 4))`, `and(eq(feedback_key, "vibe"), neq(feedback_value, "good"))`,
	`exists(feedback_key)`, `neq(feedback_key, "x")`, `eq(feedback_value, 3)`, `in(feedback_value, ["a"])`,
	`and(gt(start_time, "2023-07-15T12:34:56Z"), or(neq(error, null), and(eq(feedback_key, "Correctness"), eq(feedback_score, 0.0))))`,
	`and(or(has(tags, "experimental"), has(tags, "beta")), gt(latency, 2))`,
	`not(not(not(eq(name, "\u00e9\ud83d\ude00\n\"'\\"))))`, `eq(name, "\u0000\r")`,
	strings.Repeat("or(", 63) + `and(eq(feedback_key, "a"), gt(feedback_score, 1))` + strings.Repeat(")", 63),
	strings.Repeat("not(", 64) + `and(eq(metadata_key, "a"), neq(metadata_value, "b"))` + strings.Repeat(")", 64),
	// invalid
	`eq(name, "x"`, `eq(name "x")`, `and()`, `not(eq(name, "x"), eq(name, "y"))`, `eq(nme, "x")`, `gt(name, "x")`,
	`eq(name, "\ud800")`, `eq(total_cost, 1e999)`, `in(name, [["a"]])`, `in(name, [])`, `eq(id, "nope")`,
	`gt(latency, "5 seconds")`, `gt(start_time, "yesterday")`, "eq(name, \"\xff\")", `eq(name, "x") )`,
	strings.Repeat("not(", 70) + `eq(name, "x")` + strings.Repeat(")", 70),
}

// checkFilter is the property every input must have: Parse fails with a
// positioned error, or it succeeds, its canonical form is a fixed point,
// Compile succeeds and ClickHouse runs the SQL, with not(e) matching exactly
// the runs e does not (every condition is two-valued).
func checkFilter(t *testing.T, store *clickhouse.Store, src string) {
	e, err := filter.Parse(src)
	if err != nil {
		var se *filter.SyntaxError
		var te *filter.Error
		pos := 0
		switch {
		case errors.As(err, &se):
			pos = se.Pos
		case errors.As(err, &te):
			pos = te.Pos
		default:
			t.Fatalf("Parse(%q): error of type %T: %v", src, err, err)
		}
		if n := utf8.RuneCountInString(src); pos < 1 || pos > n+1 && len(src) <= filter.MaxLength {
			t.Fatalf("Parse(%q): position %d outside 1..%d: %v", src, pos, n+1, err)
		}
		return
	}
	if e == nil {
		if strings.TrimSpace(src) != "" {
			t.Fatalf("Parse(%q) = nil", src)
		}
		return
	}
	canon := e.String()
	again, err := filter.Parse(canon)
	if err != nil {
		t.Fatalf("Parse(%q) ok but its canonical form %s fails: %v", src, canon, err)
	}
	if again.String() != canon {
		t.Fatalf("canonical form is not a fixed point:\n%s\n%s", canon, again.String())
	}
	sql, args, err := filter.Compile(e, projectScope)
	if err != nil {
		t.Fatalf("Compile(%s): %v", canon, err)
	}
	if n := strings.Count(sql, "?"); n != len(args) {
		t.Fatalf("Compile(%s): %d placeholders, %d args\n%s", canon, n, len(args), sql)
	}
	yes, err := match(t, store, sql, args)
	if err != nil {
		t.Fatalf("ClickHouse refuses %s:\nSQL: %s\nargs: %#v\n%v", canon, sql, args, err)
	}
	sql, args, err = filter.Compile(&filter.Not{Arg: e}, projectScope)
	if err != nil {
		if strings.Contains(err.Error(), "deeper than") {
			return
		}
		t.Fatalf("Compile(not(%s)): %v", canon, err)
	}
	no, err := match(t, store, sql, args)
	if err != nil {
		t.Fatalf("ClickHouse refuses not(%s):\nSQL: %s\n%v", canon, sql, err)
	}
	if got := strings.Join(append(yes, no...), " "); len(yes)+len(no) != len(runIDs) || !covers(yes, no) {
		t.Fatalf("%s matches %v and its negation %v: not a partition of the runs (%s)", canon, yes, no, got)
	}
}

func covers(a, b []string) bool {
	seen := map[string]bool{}
	for _, x := range append(append([]string(nil), a...), b...) {
		if seen[x] {
			return false
		}
		seen[x] = true
	}
	return len(seen) == len(runIDs)
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		f.Add(randomExpr(rng, 0).String())
	}
	store := fixture(f)
	f.Fuzz(func(t *testing.T, src string) {
		checkFilter(t, store, src)
	})
}

// TestRandomFilters runs many generated filters through print, parse,
// compile and ClickHouse, so that plain `go test` covers many shapes.
func TestRandomFilters(t *testing.T) {
	store := fixture(t)
	rng := rand.New(rand.NewPCG(20240405, 1))
	for range 300 {
		checkFilter(t, store, randomExpr(rng, 0).String())
	}
}

var (
	fieldNames = []string{
		"id", "trace_id", "name", "run_type", "status", "start_time", "end_time", "latency",
		"total_tokens", "prompt_tokens", "completion_tokens", "total_cost", "error", "is_root", "tags",
		"metadata_key", "metadata_value", "input_key", "input_value", "output_key", "output_value",
		"feedback_key", "feedback_score", "feedback_value",
	}
	opNames   = []string{"eq", "neq", "gt", "gte", "lt", "lte", "has", "in", "search", "exists"}
	strValues = []string{
		"x", "prod", "", "beta", "llm", "error", "ChatOpenAI", "correctness", "vibe", "good", "3", "n", "env", "question",
		`it's "q"` + "\n\t\\", "é😀", "5s", "1.5s", "200ms", "2024-04-05T01:00:00Z", "2024-04-05T01:28:54.085646",
		"2024-04-06", "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000003", "'; DROP TABLE runs; --", "?",
	}
)

func randomValue(rng *rand.Rand) filter.Value {
	switch rng.IntN(7) {
	case 0, 1:
		return filter.Value{Kind: filter.String, Str: strValues[rng.IntN(len(strValues))]}
	case 2:
		return filter.Value{Kind: filter.Int, Int: []int64{0, 1, -1, 2, 3, 100, 5000, math.MaxInt64, math.MinInt64}[rng.IntN(9)]}
	case 3:
		return filter.Value{Kind: filter.Float, Float: []float64{0.5, 2.25, -1.5, 1e300, 1e-300, 0.1, 3}[rng.IntN(7)]}
	case 4:
		return filter.Value{Kind: filter.Bool, Bool: rng.IntN(2) == 0}
	case 5:
		return filter.Value{Kind: filter.Null}
	}
	list := filter.Value{Kind: filter.List}
	for range 1 + rng.IntN(3) {
		list.List = append(list.List, filter.Value{Kind: filter.String, Str: strValues[rng.IntN(len(strValues))]})
	}
	return list
}

// randomCmp draws comparisons until one is valid: the generator needs no
// copy of the field table, and invalid draws exercise the checker.
func randomCmp(rng *rand.Rand) filter.Expr { return randomCmpOf(rng, fieldNames) }

func randomCmpOf(rng *rand.Rand, names []string) filter.Expr {
	for {
		c := &filter.Cmp{Op: opNames[rng.IntN(len(opNames))]}
		if rng.IntN(20) > 0 {
			c.Field = names[rng.IntN(len(names))]
		}
		if c.Op != "exists" {
			c.Value = randomValue(rng)
		}
		if e, err := filter.Parse(c.String()); err == nil {
			return e
		}
	}
}

func randomExpr(rng *rand.Rand, depth int) filter.Expr {
	if depth >= 4 || rng.IntN(3) == 0 {
		return randomCmp(rng)
	}
	switch rng.IntN(6) {
	case 0:
		return &filter.Not{Arg: randomExpr(rng, depth+1)}
	case 3:
		// One pair or feedback family, so that conditions group.
		fam := []string{"metadata_", "input_", "output_", "feedback_"}[rng.IntN(4)]
		var names []string
		for _, n := range fieldNames {
			if strings.HasPrefix(n, fam) {
				names = append(names, n)
			}
		}
		and := &filter.And{}
		for range 1 + rng.IntN(4) {
			and.Args = append(and.Args, randomCmpOf(rng, names))
		}
		return and
	case 1, 2:
		or := &filter.Or{}
		for range 1 + rng.IntN(3) {
			or.Args = append(or.Args, randomExpr(rng, depth+1))
		}
		return or
	}
	// and() gets mostly comparisons, so that pair and feedback groups form.
	and := &filter.And{}
	for range 1 + rng.IntN(4) {
		if rng.IntN(3) == 0 {
			and.Args = append(and.Args, randomExpr(rng, depth+1))
		} else {
			and.Args = append(and.Args, randomCmp(rng))
		}
	}
	return and
}
