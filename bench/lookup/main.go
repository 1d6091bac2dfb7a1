// Command lookup measures reads of runs by id on the layouts issue 13 weighed:
// runhook's (runs partitioned by day, sorted by (day, id) in granules of 256,
// found through run_keys, which names each run's days), a finer-grained sort key
// alone (granules of 256, unpartitioned, and partitioned by day without
// run_keys), and release 8's (sorted by id in granules of 8,192). Each
// layout holds the same runs, spread over days of insertion time; each read
// looks up a batch of random stored ids, as the API's "which are stored"
// check (ids only), a delivery's plan (a few small columns) and a payload or
// GET /runs/{id} (whole rows) do. It builds the tables in a scratch database,
// which it drops at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
)

func main() {
	n := flag.Int("runs", 3_000_000, "runs in each layout")
	days := flag.Int("days", 30, "days of insertion time the runs are spread over")
	reps := flag.Int("reps", 30, "measured reads of each shape and layout")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("lookup", fmt.Sprintf("lookups by id on %s runs over %d days", report.Count(*n), *days), flag.CommandLine)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *n, *days, *reps, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const columns = `(id UUID, inserted_at DateTime, session_id UUID, name String, size_base UInt32, inputs Nullable(String), outputs Nullable(String))`

type layout struct {
	name, ddl string
	// where restricts a read to the ids bound at its placeholder.
	where string
}

var layouts = []layout{
	{"runhook: by day, (day, id), run_keys",
		"ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(inserted_at) ORDER BY (toDate(inserted_at), id) SETTINGS index_granularity = 256",
		"(toDate(inserted_at), id) IN (SELECT day, id FROM %[1]s_keys WHERE id IN ?)"},
	{"granules of 256, unpartitioned",
		"ENGINE = ReplacingMergeTree ORDER BY id SETTINGS index_granularity = 256", "id IN ?"},
	{"granules of 256, by day, no run_keys",
		"ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(inserted_at) ORDER BY id SETTINGS index_granularity = 256", "id IN ?"},
	{"release 8: granules of 8,192, unpartitioned",
		"ENGINE = ReplacingMergeTree ORDER BY id", "id IN ?"},
}

// shapes are what the reads select.
var shapes = []struct{ name, sel string }{
	{"stored ids", "DISTINCT id"},
	{"sizes", "id, session_id, size_base"},
	{"whole rows", "*"},
}

func run(ctx context.Context, n, days, reps int, out *report.Doc) error {
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return err
	}
	cfg.ClickHouse.Database = fmt.Sprintf("runhook_bench_lookup_%d", time.Now().UnixNano())
	store, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return fmt.Errorf("%w (start ClickHouse with `make services`)", err)
	}
	defer store.Close()
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := clickhousetest.DropDatabase(c, store); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop %s: %v\n", store.Database(), err)
		}
	}()
	version, _ := store.ServerVersion(ctx)
	base := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
	start := time.Now()
	// One set of runs, copied into each layout.
	if err := store.Exec(ctx, "CREATE TABLE src "+columns+" ENGINE = MergeTree ORDER BY tuple()"); err != nil {
		return err
	}
	if err := store.Exec(ctx, `INSERT INTO src SELECT generateUUIDv4(), toDateTime(? + intDiv(number * ?, ?)),
    toUUID(concat('b0000000-0000-4000-8000-', toString(100000000000 + number % 100))), 'ChatOpenAI', number % 5000,
    concat('{"question":"How do I configure webhook notifications for rule ', toString(number), '?"}'),
    concat('{"answer":"Create a rule with a filter and a webhook URL. Reference ', toString(number), '."}')
FROM numbers(?)`, uint64(base.Unix()), uint64(days*86400), uint64(n), uint64(n)); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	for i, l := range layouts {
		t := fmt.Sprintf("l%d", i)
		if err := store.Exec(ctx, "CREATE TABLE "+t+" "+columns+" "+l.ddl); err != nil {
			return err
		}
		if err := store.Exec(ctx, "INSERT INTO "+t+" SELECT * FROM src"); err != nil {
			return err
		}
	}
	if err := store.Exec(ctx, "CREATE TABLE l0_keys (id UUID, day Date) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (id, day) SETTINGS index_granularity = 256"); err != nil {
		return err
	}
	if err := store.Exec(ctx, "INSERT INTO l0_keys SELECT id, toDate(inserted_at) FROM src"); err != nil {
		return err
	}
	rig.WaitMerges(ctx, store)
	fmt.Fprintf(os.Stderr, "built in %.0f s\n", time.Since(start).Seconds())
	parts := map[string]uint64{}
	for i := range layouts {
		var p uint64
		if err := store.QueryRow(ctx, `SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = ? AND active`, fmt.Sprintf("l%d", i)).Scan(&p); err != nil {
			return err
		}
		parts[fmt.Sprintf("l%d", i)] = p
	}

	fmt.Printf("lookup benchmark: ClickHouse %s, %d cores, %s; %d runs over %d days in each layout\n", version, runtime.NumCPU(), runtime.Version(), n, days)
	fmt.Printf("%-46s %6s %-11s %5s %9s %9s %11s %9s\n", "layout", "parts", "read", "ids", "p50 ms", "p90 ms", "rows read", "MiB read")
	var ids []uuid.UUID
	for _, batch := range []int{10, 100} {
		for _, sh := range shapes {
			for i, l := range layouts {
				t := fmt.Sprintf("l%d", i)
				where := l.where
				if strings.Contains(where, "%") {
					where = fmt.Sprintf(where, t)
				}
				query := fmt.Sprintf("SELECT %s FROM %s WHERE %s", sh.sel, t, where)
				if i == 0 && sh.name == "stored ids" {
					// The API's check reads run_keys alone (StoredRunIDsSQL).
					query = "SELECT DISTINCT id FROM l0_keys WHERE id IN ?"
				}
				var ds []time.Duration
				var rows, bytes uint64
				for r := 0; r <= reps; r++ {
					// The same random ids for every layout of a rep.
					if i == 0 {
						if err := store.QueryRow(ctx, fmt.Sprintf("SELECT groupArray(id) FROM (SELECT id FROM src ORDER BY rand() LIMIT %d)", batch)).Scan(&ids); err != nil {
							return err
						}
					}
					set := make([]any, len(ids))
					for k, id := range ids {
						set[k] = id.String()
					}
					var rr, bb uint64
					pctx := ch.Context(ctx, ch.WithProgress(func(p *ch.Progress) { rr += p.Rows; bb += p.Bytes }))
					t0 := time.Now()
					got, err := store.Query(pctx, query, ch.GroupSet{Value: set})
					if err != nil {
						return fmt.Errorf("%s: %w", l.name, err)
					}
					found := 0
					for got.Next() {
						found++
					}
					got.Close()
					d := time.Since(t0)
					if found != batch {
						return fmt.Errorf("%s found %d of %d stored ids", l.name, found, batch)
					}
					if r > 0 { // the first read warms caches
						ds, rows, bytes = append(ds, d), rows+rr, bytes+bb
					}
				}
				slices.Sort(ds)
				p50 := ms(ds[len(ds)/2])
				fmt.Printf("%-46s %6d %-11s %5d %9.1f %9.1f %11d %9.2f\n", l.name, parts[t], sh.name, batch, p50, ms(ds[len(ds)*9/10]), rows/uint64(len(ds)), float64(bytes)/float64(len(ds))/(1<<20))
				if batch == 100 && sh.name == "whole rows" {
					out.Add(l.name+", 100 whole rows, p50", p50, "ms")
				}
			}
		}
	}
	fmt.Println("rows and MiB read are means per read, every table the read touches (run_keys included)")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
