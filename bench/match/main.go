// Command match measures what a rule's window costs on a large table: the
// match of one project's 1-minute window (Store.MatchRuns, every statement it
// runs), for a filtered rule and for a rule with a feedback filter, beside
// the floor, a bare range read of the same window, and beside a scan of the
// project's runs; then one tick of many rules and the ClickHouse CPU it takes.
// It loads runs, feedback on a tenth of them and claims on a twentieth into a
// scratch database, which it drops at the end.
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
	"sync"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/filter"
)

// defaultFilter is a rule as people write them: slow or failed LLM calls in
// production. It touches plain columns, a computed latency and the metadata
// pair arrays.
const defaultFilter = `and(eq(run_type, "llm"), or(gt(latency, "5s"), eq(status, "error")), eq(metadata_key, "env"), eq(metadata_value, "prod"))`

// feedbackFilter is a feedback-gated rule's: LLM calls scored well.
const feedbackFilter = `and(eq(run_type, "llm"), eq(feedback_key, "correctness"), gte(feedback_score, 0.5))`

// recent is config rules.recent's default.
const recent = 15 * time.Minute

func main() {
	n := flag.Int("runs", 10_000_000, "runs to load")
	projects := flag.Int("projects", 100, "projects the runs are spread over")
	hours := flag.Int("hours", 6, "hours of server insertion time the runs are spread over")
	reps := flag.Int("reps", 30, "measured repetitions of each query (each on a random project and minute)")
	scanReps := flag.Int("scan-reps", 3, "repetitions of the scan of the project's runs (slow; 0 skips it)")
	rules := flag.Int("rules", 1000, "rules that tick once each on one minute, for ClickHouse CPU per minute of ticks (0 skips it)")
	src := flag.String("filter", defaultFilter, "rule filter (LangSmith syntax)")
	keep := flag.String("keep", "", "load into this database and keep it, to look at the queries; a database of that name that holds runs is measured as it is")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("match", fmt.Sprintf("match 1-min window on %s runs", report.Count(*n)), flag.CommandLine)
	// Ctrl-C cancels the queries; the deferred drop still runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, params{n: *n, projects: *projects, hours: *hours, reps: *reps, scanReps: *scanReps, rules: *rules, src: *src, keep: *keep}, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type params struct {
	n, projects, hours, reps, scanReps, rules int
	src, keep                                 string
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

// loadFeedbackSQL scores a tenth of the runs under one key, each stored 0 to
// 10 minutes after its run, with the run's project: what an online evaluator
// does. Args: first number, count (of the run numbers, as loadSQL).
const loadFeedbackSQL = `INSERT INTO feedback (id, run_id, trace_id, session_id, key, score, created_at, modified_at, inserted_at)
SELECT generateUUIDv4(), id, trace_id, session_id, 'correctness', (cityHash64(toString(id), 9) % 100) / 100,
    toUInt64(at) * 1000000, toUInt64(at) * 1000000, at
FROM
(
    SELECT id, trace_id, session_id, inserted_at + cityHash64(toString(id), 10) % 600 AS at
    FROM runs
    WHERE cityHash64(toString(id), 11) % 10 = 0 AND inserted_at >= toDateTime(?) AND inserted_at < toDateTime(?)
)`

// loadClaimsSQL claims a twentieth of the runs for the measured rule, as
// earlier ticks would have: the claims lookup then has history to skip.
// Args: rule.
const loadClaimsSQL = `INSERT INTO rule_claims (rule_id, run_id, owner, at)
SELECT ?, id, 'earlier-tick/p0', toUInt64(inserted_at) * 1000000 + 5000000
FROM runs
WHERE cityHash64(toString(id), 12) % 20 = 0`

// scanProjectSQL is the window without run_arrivals: the newest version of
// every run of the project (a scan of runs), then the window (written in it,
// or given feedback in it) and the filter. Args: project, after, upTo,
// project, after, upTo, filter args.
func scanProjectSQL(cond string) string {
	return `SELECT id
FROM
(
    SELECT *
    FROM runs
    WHERE session_id = ?
    ORDER BY id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY id
)
WHERE end_time IS NOT NULL
  AND (inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)
    OR id IN (SELECT run_id FROM feedback WHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)))
  AND (` + cond + `)
ORDER BY id`
}

// floorSQL is a bare range read of the window: the ids of the project's run
// arrivals in it. Args: project, after, upTo.
const floorSQL = `SELECT id FROM run_arrivals
WHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)`

const pageSize = 1000 // rules.page_size default

type sample struct {
	d           time.Duration
	rows, bytes uint64
	matched     int
}

func (s *sample) progress(ctx context.Context) context.Context {
	return ch.Context(ctx, ch.WithProgress(func(p *ch.Progress) { s.rows += p.Rows; s.bytes += p.Bytes }))
}

func run(ctx context.Context, p params, out *report.Doc) error {
	expr, err := filter.Parse(p.src)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	fbExpr, err := filter.Parse(feedbackFilter)
	if err != nil {
		return err
	}
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return err
	}
	cfg.ClickHouse.Database = fmt.Sprintf("runhook_bench_match_%d", time.Now().UnixNano())
	if p.keep != "" {
		cfg.ClickHouse.Database = p.keep
	}
	store, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return fmt.Errorf("%w (start ClickHouse with `make services`)", err)
	}
	defer store.Close()
	defer func() {
		if p.keep != "" {
			return
		}
		// A fresh context: the run's may be cancelled by Ctrl-C.
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := clickhousetest.DropDatabase(c, store); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop %s: %v\n", store.Database(), err)
		}
	}()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	version, _ := store.ServerVersion(ctx)

	// Whole hours ending an hour ago, so every window is long settled.
	span := p.hours * 3600
	base := time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(p.hours+1) * time.Hour)
	const chunk = 1_000_000
	start := time.Now()
	var loaded uint64
	if p.keep != "" {
		if err := store.QueryRow(ctx, "SELECT count() FROM runs").Scan(&loaded); err != nil {
			return err
		}
		if loaded > 0 {
			// A kept database's runs span the hours it was loaded over.
			if err := store.QueryRow(ctx, "SELECT min(inserted_at) FROM runs").Scan(&base); err != nil {
				return err
			}
		}
	}
	for lo := 0; lo < p.n && loaded == 0; lo += chunk {
		cnt := min(chunk, p.n-lo)
		if err := store.Exec(ctx, loadSQL, uint64(p.projects), uint64(base.Unix()), uint64(span), uint64(p.n), uint64(lo), uint64(cnt)); err != nil {
			return fmt.Errorf("load runs: %w", err)
		}
		fmt.Fprintf(os.Stderr, "loaded %d of %d runs (%.0fs)\n", lo+cnt, p.n, time.Since(start).Seconds())
	}
	for h := 0; h < p.hours && loaded == 0; h++ {
		from := base.Add(time.Duration(h) * time.Hour)
		if err := store.Exec(ctx, loadFeedbackSQL, uint32(from.Unix()), uint32(from.Add(time.Hour).Unix())); err != nil {
			return fmt.Errorf("load feedback: %w", err)
		}
	}
	rule := uuid.New()
	if loaded > 0 {
		if err := store.QueryRow(ctx, "SELECT any(rule_id) FROM rule_claims").Scan(&rule); err != nil {
			return err
		}
	} else if err := store.Exec(ctx, loadClaimsSQL, rule); err != nil {
		return fmt.Errorf("load claims: %w", err)
	}
	load := time.Since(start)
	rig.WaitMerges(ctx, store)
	counts := map[string]uint64{}
	for _, table := range []string{"runs", "run_arrivals", "feedback", "rule_claims"} {
		var c uint64
		if err := store.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&c); err != nil {
			return err
		}
		counts[table] = c
	}
	var parts, bytesOnDisk uint64
	if err := store.QueryRow(ctx, `SELECT count(), sum(bytes) FROM system.parts WHERE database = currentDatabase() AND table = 'runs' AND active`).Scan(&parts, &bytesOnDisk); err != nil {
		return err
	}
	// The arrivals must carry the explicit inserted_at, or every window below is empty.
	var minAt, maxAt time.Time
	if err := store.QueryRow(ctx, `SELECT min(inserted_at), max(inserted_at) FROM run_arrivals`).Scan(&minAt, &maxAt); err != nil {
		return err
	}
	if minAt.Before(base) || maxAt.After(base.Add(time.Duration(span)*time.Second)) {
		return fmt.Errorf("run_arrivals.inserted_at spans %s..%s, not the loaded %s..+%dh", minAt, maxAt, base, p.hours)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	// Windows start after the first recent range, so that every one has a
	// full history before it.
	firstMinute := int(recent/time.Minute) + 1
	window := func() (uuid.UUID, clickhouse.Window) {
		minute := base.Add(time.Duration(firstMinute+rng.IntN(span/60-firstMinute)) * time.Minute)
		return project(rng.IntN(p.projects)), clickhouse.Window{After: minute, UpTo: minute.Add(time.Minute)}
	}
	match := func(e filter.Expr) func(uuid.UUID, clickhouse.Window) (sample, []uuid.UUID, error) {
		return func(pr uuid.UUID, w clickhouse.Window) (sample, []uuid.UUID, error) {
			var s sample
			t := time.Now()
			// Progress packets are the server's own count of rows and bytes
			// read, summed over every statement MatchRuns runs.
			ids, err := store.MatchRuns(s.progress(ctx), clickhouse.Match{RuleID: rule, Project: pr, Window: w, Filter: e,
				SamplingRate: 1, Owner: "bench", Limit: pageSize, Recent: recent})
			s.d, s.matched = time.Since(t), len(ids)
			return s, ids, err
		}
	}
	plain := func(query func(uuid.UUID, clickhouse.Window) (string, []any, error)) func(uuid.UUID, clickhouse.Window) (sample, []uuid.UUID, error) {
		return func(pr uuid.UUID, w clickhouse.Window) (sample, []uuid.UUID, error) {
			sql, args, err := query(pr, w)
			if err != nil {
				return sample{}, nil, err
			}
			var s sample
			t := time.Now()
			ids, err := queryIDs(s.progress(ctx), store, sql, args...)
			s.d, s.matched = time.Since(t), len(ids)
			return s, ids, err
		}
	}
	bounds := func(pr uuid.UUID, w clickhouse.Window) []any {
		return []any{pr, uint32(w.After.Unix()), uint32(w.UpTo.Unix())}
	}
	floor := plain(func(pr uuid.UUID, w clickhouse.Window) (string, []any, error) { return floorSQL, bounds(pr, w), nil })
	scan := plain(func(pr uuid.UUID, w clickhouse.Window) (string, []any, error) {
		cond, args, err := filter.Compile(expr, filter.Scope{SQL: "SELECT id FROM runs WHERE session_id = ?", Args: []any{pr}})
		return scanProjectSQL(cond), append(append(bounds(pr, w), bounds(pr, w)...), args...), err
	})
	type query struct {
		name string
		reps int
		do   func(uuid.UUID, clickhouse.Window) (sample, []uuid.UUID, error)
		// agree: the ids must equal the first query's (less the claimed ones)
		agree bool
	}
	queries := []query{
		{"match, filter (MatchRuns)", p.reps, match(expr), false},
		{"match, feedback filter (MatchRuns)", p.reps, match(fbExpr), false},
		{"floor: bare range read of the window", p.reps, floor, false},
		{"scan of the project's runs, filter", p.scanReps, scan, true},
	}
	claimedCount := func(ids []uuid.UUID) (int, error) {
		if len(ids) == 0 {
			return 0, nil
		}
		counts, err := store.ClaimCounts(ctx, rule)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, id := range ids {
			if counts[id] > 0 {
				n++
			}
		}
		return n, nil
	}
	results := make([][]sample, len(queries))
	var candidates []int
	for i := 0; i <= p.reps; i++ {
		pr, w := window()
		var want []uuid.UUID
		for q, qu := range queries {
			if i > qu.reps {
				continue
			}
			s, ids, err := qu.do(pr, w)
			if err != nil {
				return fmt.Errorf("%s: %w", qu.name, err)
			}
			slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
			if q == 0 {
				want = ids
			} else if qu.agree {
				// The scan ignores claims: it finds the match's runs and the claimed ones.
				claimed, err := claimedCount(ids)
				if err != nil {
					return err
				}
				if len(ids)-claimed != len(want) {
					return fmt.Errorf("%s found %d runs (%d claimed), the match %d: the forms disagree", qu.name, len(ids), claimed, len(want))
				}
			}
			// The first round warms caches and connections; it is not counted.
			if i > 0 {
				results[q] = append(results[q], s)
			}
		}
		if i > 0 {
			var c uint64
			if err := store.QueryRow(ctx, `SELECT count() FROM run_arrivals WHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)`,
				bounds(pr, w)...).Scan(&c); err != nil {
				return err
			}
			candidates = append(candidates, int(c))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	fmt.Printf("match benchmark: ClickHouse %s, %d cores, %s; %d runs (%d rows in runs, %d in run_arrivals, %d feedback rows, %d claims of the measured rule; runs: %d parts, %.1f GiB on disk) over %d projects and %d h of insertion time, loaded in %.0f s\n",
		version, runtime.NumCPU(), runtime.Version(), p.n, counts["runs"], counts["run_arrivals"], counts["feedback"], counts["rule_claims"], parts, float64(bytesOnDisk)/(1<<30), p.projects, p.hours, load.Seconds())
	slices.Sort(candidates)
	fmt.Printf("filter: %s\nfeedback filter: %s\nwindows: 1 minute of one random project each; run arrivals per window median %d, max %d; page size %d; rules.recent %s\n",
		p.src, feedbackFilter, candidates[len(candidates)/2], candidates[len(candidates)-1], pageSize, recent)
	fmt.Printf("%-40s %5s %9s %9s %9s %11s %11s %9s %8s\n", "query", "reps", "p50 ms", "p99 ms", "max ms", "rows read", "% of runs", "MiB read", "matched")
	type fig struct{ p50, p99, rows, mib float64 }
	figs := make([]fig, len(queries))
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
		f := fig{p50: ms(ds[len(ds)/2]), p99: ms(pct(ds, 0.99)), rows: float64(rows) / float64(len(rs)), mib: float64(read) / float64(len(rs)) / (1 << 20)}
		figs[q] = f
		fmt.Printf("%-40s %5d %9.1f %9.1f %9.1f %11.0f %10.3f%% %9.2f %8.1f\n", qu.name, len(rs), f.p50, f.p99, ms(ds[len(ds)-1]),
			f.rows, 100*f.rows/float64(counts["runs"]), f.mib, float64(matched)/float64(len(rs)))
	}
	fmt.Println("rows read, MiB read and matched are means per window; rows read counts every table each statement reads (run_arrivals, feedback_arrivals, runs, run_keys, feedback, feedback_keys, rule_claims)")
	for q, label := range []string{"match", "match, feedback filter"} {
		f := figs[q]
		out.Add(label+", p50", f.p50, "ms")
		out.Add(label+", p99", f.p99, "ms")
		out.Add(label+", rows read", f.rows, "rows")
		out.Add(label+", read", 100*f.rows/float64(counts["runs"]), "% of runs")
		out.Add(label+", bytes read", f.mib, "MiB")
	}
	out.Add("floor (bare range read), p50", figs[2].p50, "ms")
	out.SetRatio("match / bare range read of the window, p50", figs[0].p50/figs[2].p50)
	if p.scanReps > 0 {
		out.Add("scan of the project, p50", figs[3].p50, "ms")
		out.Note("Scan of the project's runs / match, p50: %.0f.", figs[3].p50/figs[0].p50)
	}
	out.Note("Run arrivals per window median %d; targets p50 <= 20 ms, p99 <= 50 ms, at most 0.5%% of the table read.", candidates[len(candidates)/2])
	if p.rules > 0 {
		cpu, wall, statements, err := tickRules(ctx, store, p, rng, window, []filter.Expr{expr, fbExpr, nil})
		if err != nil {
			return err
		}
		fmt.Printf("%d rules, one tick each on one minute of a project (filter, feedback filter, none, in turn), 8 at a time: %.2f ClickHouse CPU-seconds (%.1f%% of one core over a minute), %d statements, %.1f s wall\n",
			p.rules, cpu, 100*cpu/60, statements, wall.Seconds())
		out.Add(fmt.Sprintf("%d rules, one tick each: ClickHouse CPU", p.rules), cpu, "CPU-s per minute")
	}
	return nil
}

// project is the i-th project's id; the load query builds the same ids, so
// the bench knows them without reading them back.
func project(i int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("b0000000-0000-4000-8000-%d", 100000000000+i))
}

// tickRules runs one match per rule, each on its own project and minute, 8 at
// a time, and returns the query CPU ClickHouse spent on them (its
// UserTimeMicroseconds and SystemTimeMicroseconds counters).
func tickRules(ctx context.Context, store *clickhouse.Store, p params, rng *rand.Rand, window func() (uuid.UUID, clickhouse.Window), exprs []filter.Expr) (cpu float64, wall time.Duration, statements int, err error) {
	jobs := make([]clickhouse.Match, p.rules)
	for i := range jobs {
		pr, w := window()
		jobs[i] = clickhouse.Match{RuleID: uuid.New(), Project: pr, Window: w, Filter: exprs[i%len(exprs)],
			SamplingRate: 1, Owner: "bench", Limit: pageSize, Recent: recent}
	}
	before, err := queryCPU(ctx, store)
	if err != nil {
		return 0, 0, 0, err
	}
	var queries uint64
	var mu sync.Mutex
	start := time.Now()
	next := make(chan clickhouse.Match)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				var n uint64
				// One profile packet per statement.
				c := ch.Context(ctx, ch.WithProfileInfo(func(*ch.ProfileInfo) { n++ }))
				if _, err := store.MatchRuns(c, j); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				queries += n
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	wall = time.Since(start)
	select {
	case err := <-errs:
		return 0, 0, 0, err
	default:
	}
	after, err := queryCPU(ctx, store)
	if err != nil {
		return 0, 0, 0, err
	}
	return after - before, wall, int(queries), nil
}

func queryCPU(ctx context.Context, store *clickhouse.Store) (float64, error) {
	var us uint64
	err := store.QueryRow(ctx, `SELECT sum(value) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')`).Scan(&us)
	return float64(us) / 1e6, err
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
