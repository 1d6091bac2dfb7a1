// Command match measures what a rule's window costs on a large table: the
// match query of one project's 1-minute window (Store.MatchRuns, which finds
// its candidates through run_arrivals' sort key) against the same filter run
// as a scan of runs without that index, on the same windows. It loads the runs
// into a scratch database, which it drops at the end.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/filter"
)

// defaultFilter is a rule as people write them: slow or failed LLM calls in
// production. It touches plain columns, a computed latency and the metadata
// pair arrays.
const defaultFilter = `and(eq(run_type, "llm"), or(gt(latency, "5s"), eq(status, "error")), eq(metadata_key, "env"), eq(metadata_value, "prod"))`

func main() {
	n := flag.Int("runs", 10_000_000, "runs to load")
	projects := flag.Int("projects", 100, "projects the runs are spread over")
	hours := flag.Int("hours", 6, "hours of server insertion time the runs are spread over")
	reps := flag.Int("reps", 30, "measured repetitions of each query (each on a random project and minute)")
	allReps := flag.Int("all-reps", 3, "repetitions of the scan that deduplicates every run of the table (slow; 0 skips it)")
	src := flag.String("filter", defaultFilter, "rule filter (LangSmith syntax)")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("match", fmt.Sprintf("match 1-min window on %s runs", report.Count(*n)), flag.CommandLine)
	// Ctrl-C cancels the queries; the deferred drop still runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *n, *projects, *hours, *reps, *allReps, *src, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// project is the i-th project's id; the load query builds the same ids, so
// the bench knows them without reading them back.
func project(i int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("b0000000-0000-4000-8000-%d", 100000000000+i))
}

// loadSQL generates runs server-side: a Go client would spend minutes
// encoding 10M rows, and the point is the table, not the insert path (bench/ingest
// measures that). inserted_at is listed explicitly so the rows span hours of
// server time without taking hours; the materialized view copies it into
// run_arrivals. The pair columns hold what filter.Flatten/Metadata would
// derive from the JSON documents beside them. Args: base (unix seconds),
// span (seconds), total runs, projects, first number, count.
const loadSQL = `INSERT INTO runs (id, trace_id, session_id, name, run_type, status, is_root, dotted_order,
    start_time, end_time, modified_at, total_tokens, prompt_tokens, completion_tokens, total_cost,
    tags, error, inputs, outputs, extra,
    metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values, inserted_at)
SELECT id, id, session_id, name, run_type, status, run_type = 'chain', '',
    end_us - latency_us, end_us, end_us, tokens, intDiv(tokens * 2, 3), tokens - intDiv(tokens * 2, 3),
    if(run_type = 'llm', tokens / 100000, NULL),
    ['bench', env], if(status = 'error', 'RateLimitError: rate limit reached for requests', NULL),
    concat('{"question":"', question, '"}'), concat('{"answer":"', answer, '"}'),
    concat('{"metadata":{"env":"', env, '","user_id":"', user, '","ls_model_name":"gpt-4o"}}'),
    ['env', 'user_id', 'ls_model_name'], [env, user, 'gpt-4o'], ['question'], [question], ['answer'], [answer],
    inserted
FROM
(
    SELECT
        generateUUIDv4() AS id,
        toUUID(concat('b0000000-0000-4000-8000-', toString(100000000000 + cityHash64(number, 1) % ?))) AS session_id,
        toDateTime(? + intDiv(number * ?, ?)) AS inserted,
        ['chain', 'llm', 'tool', 'retriever'][cityHash64(number, 2) % 4 + 1] AS run_type,
        ['qa_agent', 'ChatOpenAI', 'web_search', 'retrieve_docs'][cityHash64(number, 2) % 4 + 1] AS name,
        if(cityHash64(number, 3) % 100 < 5, 'error', 'success') AS status,
        100000 + cityHash64(number, 4) % 10000000 AS latency_us,
        toUInt64(inserted) * 1000000 - cityHash64(number, 5) % 1000000 AS end_us,
        if(run_type = 'llm', 50 + cityHash64(number, 6) % 4000, 0) AS tokens,
        ['prod', 'staging', 'dev'][cityHash64(number, 7) % 3 + 1] AS env,
        concat('user-', toString(cityHash64(number, 8) % 10000)) AS user,
        concat('How do I configure webhook notifications for automation rule number ', toString(number),
            ' so that slow runs in production reach the on-call channel?') AS question,
        concat('Create a rule with a filter on latency and a webhook URL; runs that match in a window are posted ',
            'in batches, each run once. Reference ', toString(number), '.') AS answer
    FROM numbers(?, ?)
)`

// filterColumns are the columns a compiled filter may read (as in
// internal/clickhouse), plus inserted_at for the scan's window.
const filterColumns = `id, trace_id, session_id, name, run_type, status, is_root, start_time, end_time,
        total_tokens, prompt_tokens, completion_tokens, total_cost, error, tags, inputs, outputs, extra,
        metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values, inserted_at`

// scanProjectSQL is the window without run_arrivals: the newest version of
// every run of the project (a scan of runs, whose key is id), then the window
// and the filter on it. The project is pushed inside, which is sound because a
// run never changes project. Args: project, after, upTo, filter args, limit.
func scanProjectSQL(cond string) string {
	return `SELECT id
FROM
(
    SELECT ` + filterColumns + `
    FROM runs
    WHERE session_id = ?
    ORDER BY id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY id
)
WHERE end_time IS NOT NULL AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)
  AND (` + cond + `)
ORDER BY id
LIMIT ?`
}

// scanAllSQL is the literal form: the newest version of every run in the
// table, then project, window and filter. Args: as scanProjectSQL.
func scanAllSQL(cond string) string {
	return `SELECT id
FROM
(
    SELECT ` + filterColumns + `
    FROM runs
    ORDER BY id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY id
)
WHERE session_id = ? AND end_time IS NOT NULL AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)
  AND (` + cond + `)
ORDER BY id
LIMIT ?`
}

const pageSize = 1000 // rules.page_size default

type sample struct {
	d       time.Duration
	rows    uint64
	bytes   uint64
	matched int
}

func run(ctx context.Context, n, projects, hours, reps, allReps int, src string, out *report.Doc) error {
	expr, err := filter.Parse(src)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return err
	}
	cfg.ClickHouse.Database = fmt.Sprintf("runhook_bench_match_%d", time.Now().UnixNano())
	store, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return fmt.Errorf("%w (start ClickHouse with `make services`)", err)
	}
	defer store.Close()
	defer func() {
		// A fresh context: the run's may be cancelled by Ctrl-C.
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := store.DropDatabase(c); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop %s: %v\n", store.Database(), err)
		}
	}()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	version, _ := store.ServerVersion(ctx)

	// Whole hours ending an hour ago, so every window is long settled.
	span := hours * 3600
	base := time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(hours+1) * time.Hour)
	const chunk = 1_000_000
	start := time.Now()
	for lo := 0; lo < n; lo += chunk {
		cnt := min(chunk, n-lo)
		if err := store.Exec(ctx, loadSQL, uint64(projects), uint64(base.Unix()), uint64(span), uint64(n), uint64(lo), uint64(cnt)); err != nil {
			return fmt.Errorf("load runs: %w", err)
		}
		fmt.Fprintf(os.Stderr, "loaded %d of %d runs (%.0fs)\n", lo+cnt, n, time.Since(start).Seconds())
	}
	load := time.Since(start)
	waitMerges(ctx, store)
	var stored, arrivals, parts, bytesOnDisk uint64
	if err := store.QueryRow(ctx, `SELECT count() FROM runs`).Scan(&stored); err != nil {
		return err
	}
	if err := store.QueryRow(ctx, `SELECT count() FROM run_arrivals`).Scan(&arrivals); err != nil {
		return err
	}
	if err := store.QueryRow(ctx, `SELECT count(), sum(bytes) FROM system.parts WHERE database = currentDatabase() AND table = 'runs' AND active`).Scan(&parts, &bytesOnDisk); err != nil {
		return err
	}
	// The arrivals must carry the explicit inserted_at, or every window below is empty.
	var minAt, maxAt time.Time
	if err := store.QueryRow(ctx, `SELECT min(inserted_at), max(inserted_at) FROM run_arrivals`).Scan(&minAt, &maxAt); err != nil {
		return err
	}
	if minAt.Before(base) || maxAt.After(base.Add(time.Duration(span)*time.Second)) {
		return fmt.Errorf("run_arrivals.inserted_at spans %s..%s, not the loaded %s..+%dh", minAt, maxAt, base, hours)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	type query struct {
		name string
		do   func(project uuid.UUID, w clickhouse.Window) (sample, []uuid.UUID, error)
	}
	rule := uuid.New()
	match := func(p uuid.UUID, w clickhouse.Window) (sample, []uuid.UUID, error) {
		cond, args, err := filter.Compile(expr, filter.Scope{SQL: clickhouse.CandidatesSQL, Args: clickhouse.CandidateArgs(p, w)})
		if err != nil {
			return sample{}, nil, err
		}
		var s sample
		// Progress packets are the server's own count of rows and bytes read
		// (18.16 has no query_log); MatchRuns runs with this context as is.
		pctx := ch.Context(ctx, ch.WithProgress(func(pr *ch.Progress) { s.rows += pr.Rows; s.bytes += pr.Bytes }))
		t := time.Now()
		ids, err := store.MatchRuns(pctx, clickhouse.Match{RuleID: rule, Project: p, Window: w, Filter: cond, FilterArgs: args,
			SamplingRate: 1, Owner: "bench", Limit: pageSize})
		s.d, s.matched = time.Since(t), len(ids)
		return s, ids, err
	}
	scan := func(build func(string) string) func(uuid.UUID, clickhouse.Window) (sample, []uuid.UUID, error) {
		return func(p uuid.UUID, w clickhouse.Window) (sample, []uuid.UUID, error) {
			cond, args, err := filter.Compile(expr, filter.Scope{SQL: clickhouse.CandidatesSQL, Args: clickhouse.CandidateArgs(p, w)})
			if err != nil {
				return sample{}, nil, err
			}
			all := append([]any{p, uint32(w.After.Unix()), uint32(w.UpTo.Unix())}, args...)
			all = append(all, uint64(pageSize))
			var s sample
			// The same progress count as Store.RowsRead, with bytes too; the
			// ids come back in one row, to check that both forms agree.
			pctx := ch.Context(ctx, ch.WithProgress(func(pr *ch.Progress) { s.rows += pr.Rows; s.bytes += pr.Bytes }))
			t := time.Now()
			ids, err := queryIDs(pctx, store, build(cond), all...)
			s.d, s.matched = time.Since(t), len(ids)
			return s, ids, err
		}
	}
	queries := []query{
		{"match (run_arrivals window, MatchRuns)", match},
		{"full scan: latest of the project's runs", scan(scanProjectSQL)},
	}
	if allReps > 0 {
		queries = append(queries, query{"full scan: latest of all runs", scan(scanAllSQL)})
	}

	results := make([][]sample, len(queries))
	var candidates []int
	for i := 0; i <= reps; i++ {
		p := project(rng.IntN(projects))
		minute := base.Add(time.Duration(rng.IntN(span/60)) * time.Minute)
		w := clickhouse.Window{After: minute, UpTo: minute.Add(time.Minute)}
		var want []uuid.UUID
		for q, qu := range queries {
			if q == 2 && i > allReps {
				continue
			}
			s, ids, err := qu.do(p, w)
			if err != nil {
				return fmt.Errorf("%s: %w", qu.name, err)
			}
			slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
			if q == 0 {
				want = ids
			} else if !slices.Equal(ids, want) {
				return fmt.Errorf("%s found %d runs, the match query %d: the forms disagree", qu.name, len(ids), len(want))
			}
			// The first round warms caches and connections; it is not counted.
			if i > 0 {
				results[q] = append(results[q], s)
			}
		}
		if i > 0 {
			var c uint64
			if err := store.QueryRow(ctx, `SELECT count() FROM run_arrivals WHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)`,
				p, uint32(w.After.Unix()), uint32(w.UpTo.Unix())).Scan(&c); err != nil {
				return err
			}
			candidates = append(candidates, int(c))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	fmt.Printf("match benchmark: ClickHouse %s, %d cores, %s; %d runs (%d rows in runs, %d in run_arrivals; runs: %d parts, %.1f GiB on disk) over %d projects and %d h of insertion time, loaded in %.0f s\n",
		version, runtime.NumCPU(), runtime.Version(), n, stored, arrivals, parts, float64(bytesOnDisk)/(1<<30), projects, hours, load.Seconds())
	slices.Sort(candidates)
	fmt.Printf("filter: %s\nwindows: 1 minute of one random project each; candidates per window median %d, max %d; page size %d\n",
		src, candidates[len(candidates)/2], candidates[len(candidates)-1], pageSize)
	medians := make([]float64, len(queries))
	fmt.Printf("%-42s %5s %10s %10s %10s %14s %10s %8s\n", "query", "reps", "median ms", "p90 ms", "max ms", "rows read", "MiB read", "matched")
	for q, qu := range queries {
		rs := results[q]
		if len(rs) == 0 {
			continue
		}
		ds := make([]time.Duration, len(rs))
		var rows, read uint64
		var matched int
		for i, s := range rs {
			ds[i] = s.d
			rows += s.rows
			read += s.bytes
			matched += s.matched
		}
		slices.Sort(ds)
		mib := fmt.Sprintf("%10.1f", float64(read)/float64(len(rs))/(1<<20))
		if read == 0 {
			mib = fmt.Sprintf("%10s", "-")
		}
		fmt.Printf("%-42s %5d %10.1f %10.1f %10.1f %14d %s %8.1f\n", qu.name, len(rs), ms(ds[len(ds)/2]), ms(pct(ds, 0.9)), ms(ds[len(ds)-1]),
			rows/uint64(len(rs)), mib, float64(matched)/float64(len(rs)))
		medians[q] = ms(ds[len(ds)/2])
	}
	out.Add("match, median", medians[0], "ms")
	out.Add("project scan, median", medians[1], "ms")
	if len(queries) > 2 && medians[2] > 0 {
		out.Add("whole-table scan, median", medians[2], "ms")
		out.Note("Whole-table scan / match: %.0f.", medians[2]/medians[0])
	}
	out.SetRatio("match / scan of the project's runs", medians[0]/medians[1])
	out.Note("The scan is the same window and filter without run_arrivals; candidates per window median %d.", candidates[len(candidates)/2])
	fmt.Println("rows read, MiB read and matched are means per query; rows read counts every table the query reads (runs, run_arrivals, feedback_arrivals, rule_claims)")
	return nil
}

// waitMerges waits (a few minutes at most) until no merge runs in the
// scratch database, so the queries see the table as it settles, not mid-merge.
func waitMerges(ctx context.Context, store *clickhouse.Store) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var merging uint64
		if err := store.QueryRow(ctx, `SELECT count() FROM system.merges WHERE database = currentDatabase()`).Scan(&merging); err != nil || merging == 0 {
			return
		}
		time.Sleep(2 * time.Second)
	}
}

func queryIDs(ctx context.Context, store *clickhouse.Store, query string, args ...any) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	row := store.QueryRow(ctx, `SELECT groupArray(id) FROM (`+query+`)`, args...)
	if err := row.Scan(&ids); err != nil {
		return nil, err
	}
	return ids, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the nearest-rank percentile of sorted durations.
func pct(ds []time.Duration, p float64) time.Duration {
	i := int(float64(len(ds))*p+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}
