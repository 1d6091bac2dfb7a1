// Command api measures ingest through runhook's LangSmith-compatible HTTP API
// beside direct batch inserts of the same runs: synthetic completed traces
// written (A) with Store.InsertRuns in batches, (B) as POST /runs/batch
// requests and (C) as POST /runs/multipart requests to bin/server. Each phase
// writes new ids into a fresh database of its own, migrated, and checks that
// it holds exactly the runs sent before its figure counts.
//
// The server runs as a subprocess built from the checkout, not as an
// in-process handler: the load client and the server then have a Go runtime,
// a scheduler and a garbage collector each, as an SDK and a deployed server
// do, and the server's CPU can be read on its own.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/bench/internal/synth"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/runs"
)

// seed fixes the generated text, so every phase and every run of the bench
// sends the same bytes.
const seed = 7

type params struct {
	runs, batch, width int
	gzip, multipart    bool
	serverBin          string
}

func (p params) encoding() string {
	if p.gzip {
		return "gzip"
	}
	return "identity"
}

func main() {
	var p params
	flag.IntVar(&p.runs, "runs", 20_000, "synthetic runs written by each phase")
	flag.IntVar(&p.batch, "batch", 100, "runs per request (and per direct InsertRuns call)")
	flag.IntVar(&p.width, "concurrency", 8, "requests (and direct inserts) in flight")
	// Strings, not booleans: bench/report prints every flag as "-name value",
	// which a boolean flag would not read back.
	encoding := flag.String("encoding", "identity", "request body Content-Encoding: identity or gzip")
	endpoints := flag.String("endpoints", "batch,multipart", "API phases: batch, or batch,multipart (multipart is the JS SDK's default path)")
	flag.StringVar(&p.serverBin, "server", "", "server binary to run (default: build ./server into a temporary directory)")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	usage := func(msg string) {
		fmt.Fprintln(os.Stderr, "bench:", msg)
		os.Exit(2)
	}
	switch *endpoints {
	case "batch":
	case "batch,multipart":
		p.multipart = true
	default:
		usage("-endpoints is batch or batch,multipart")
	}
	switch *encoding {
	case "identity":
	case "gzip":
		p.gzip = true
	default:
		usage("-encoding is identity or gzip")
	}
	if p.runs < 1 || p.batch < 1 || p.width < 1 {
		usage("-runs, -batch and -concurrency must be positive")
	}
	out := report.Start("api", "ingest through HTTP API (/runs/batch)", flag.CommandLine)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, p, out)
	stop()
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// phase is one measured path.
type phase struct {
	name   string
	t      timing
	stored uint64
	bytes  int   // request bodies as sent
	raw    int   // the same uncompressed
	cpu    []cpu // cores each process group kept busy
}

type cpu struct {
	group string
	cores float64
}

func run(ctx context.Context, p params, out *report.Doc) error {
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "runhook-bench-api-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := rig.Binary(ctx, p.serverBin, dir, "server")
	if err != nil {
		return err
	}
	keyBytes := make([]byte, 24)
	_, _ = rand.Read(keyBytes)
	key := "rhk_bench_" + hex.EncodeToString(keyBytes)
	suffix := time.Now().UnixNano()
	project := fmt.Sprintf("bench-api-%d", suffix)
	base := time.Now().UTC().Add(-time.Hour)

	var version string
	var phases []phase

	// fresh opens a new database for one phase, migrated with the project's
	// migrator; drop removes it. A database per phase, dropped when the phase
	// ends: each starts on an empty table, and ClickHouse does not merge one
	// phase's parts while the next is timed.
	fresh := func(name string) (*clickhouse.Store, func(), error) {
		c := cfg.ClickHouse
		c.Database = fmt.Sprintf("runhook_bench_api_%s_%d", name, suffix)
		store, err := clickhouse.Open(ctx, c)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (start ClickHouse with `make services`)", err)
		}
		drop := func() {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := clickhousetest.DropDatabase(dctx, store); err != nil {
				fmt.Printf("cleanup: drop %s: %v\n", store.Database(), err)
			}
			store.Close()
		}
		if _, err := store.Migrate(ctx); err != nil {
			drop()
			return nil, nil, err
		}
		if version == "" {
			version, _ = store.ServerVersion(ctx)
		}
		return store, drop, nil
	}
	chPIDs := []int{}
	if pid, ok := rig.ServicePIDs()["clickhouse"]; ok {
		chPIDs = append(chPIDs, pid)
	}

	// A: the rows the server would write, straight into the driver, in the
	// server's pattern (batch rows an insert, width inserts at once), so the
	// ratio is what the HTTP path adds, not a different way of inserting.
	directPhase := func() error {
		store, drop, err := fresh("direct")
		if err != nil {
			return err
		}
		defer drop()
		gen := synth.Generate(p.runs, seed, base, project)
		rows := make([]runs.Run, len(gen))
		for i, r := range gen {
			if rows[i], err = synth.Stored(r, time.Now()); err != nil {
				return fmt.Errorf("synthetic run %d: %w", i, err)
			}
		}
		parts := chunks(len(rows), p.batch)
		meter := rig.NewCPUMeter(map[string][]int{"bench (client and driver)": {os.Getpid()}, "clickhouse": chPIDs})
		meter.Mark()
		t, err := measure(ctx, len(parts), p.width, func(ctx context.Context, i int) (int, error) {
			c := parts[i]
			return c[1] - c[0], store.InsertRuns(ctx, rows[c[0]:c[1]])
		})
		usage := meter.Since()
		if err != nil {
			return fmt.Errorf("direct insert: %w", err)
		}
		ph, err := verify(ctx, store, phase{name: "direct Store.InsertRuns", t: t, cpu: cores(usage)}, p.runs)
		if err != nil {
			return err
		}
		phases = append(phases, ph)
		return nil
	}
	if err := directPhase(); err != nil {
		return err
	}

	// B and C: the server, on a database of its own each time.
	apiPhase := func(name string, build func([]synth.Run, bool) (request, error)) error {
		store, drop, err := fresh(name)
		if err != nil {
			return err
		}
		defer drop()
		gen := synth.Generate(p.runs, seed, base, project)
		reqs, err := requests(gen, p.batch, p.gzip, build)
		if err != nil {
			return err
		}
		var sent, raw int
		for _, r := range reqs {
			sent, raw = sent+len(r.body), raw+r.raw
		}
		srv, err := startServer(ctx, bin, filepath.Join(dir, name+".log"), cfg.ClickHouse, store.Database(), key)
		if err != nil {
			return err
		}
		defer srv.stop()
		client := newClient(p.width)
		defer client.CloseIdleConnections()
		meter := rig.NewCPUMeter(map[string][]int{"server": {srv.pid()}, "clickhouse": chPIDs, "load client": {os.Getpid()}})
		meter.Mark()
		t, err := measure(ctx, len(reqs), p.width, func(ctx context.Context, i int) (int, error) {
			return reqs[i].runs, post(ctx, client, srv.url, key, reqs[i])
		})
		usage := meter.Since()
		if err != nil {
			return fmt.Errorf("%s: %w (server log: %s)", name, err, srv.logTail())
		}
		ph, err := verify(ctx, store, phase{name: "POST " + reqs[0].path, t: t, bytes: sent, raw: raw, cpu: cores(usage)}, p.runs)
		if err != nil {
			return err
		}
		phases = append(phases, ph)
		return nil
	}
	if err := apiPhase("batch", batchRequest); err != nil {
		return err
	}
	avgJSON := float64(phases[1].raw) / float64(p.runs)
	if p.multipart {
		if err := apiPhase("multipart", multipartRequest); err != nil {
			return err
		}
	}

	printTable(p, version, avgJSON, phases)
	direct, batch := phases[0], phases[1]
	out.Add("/runs/batch", batch.t.runsPerSec(), "runs/s")
	out.Add("/runs/batch", batch.t.callsPerSec(), "requests/s")
	out.Add("/runs/batch", ms(batch.t.pct(0.5)), "ms p50")
	out.Add("/runs/batch", ms(batch.t.pct(0.99)), "ms p99")
	out.Add("direct InsertRuns", direct.t.runsPerSec(), "runs/s")
	if len(phases) > 2 {
		out.Add("/runs/multipart", phases[2].t.runsPerSec(), "runs/s")
		out.Add("/runs/multipart", ms(phases[2].t.pct(0.99)), "ms p99")
	}
	out.SetRatio("/runs/batch / direct insert", batch.t.runsPerSec()/direct.t.runsPerSec())
	out.Note("%s runs in traces of %d (about %s bytes of JSON a run), %d runs a request, %d in flight, Content-Encoding %s; every phase stored exactly the runs it sent.",
		report.Count(p.runs), synth.TraceSize, report.Number(avgJSON), p.batch, p.width, p.encoding())
	for _, ph := range phases {
		out.Note("CPU during %s (cores): %s.", ph.name, cpuText(ph.cpu))
	}
	return nil
}

// verify counts the phase's database: a figure over lost runs means nothing.
func verify(ctx context.Context, store *clickhouse.Store, ph phase, want int) (phase, error) {
	n, err := store.CountRuns(ctx)
	if err != nil {
		return ph, err
	}
	if n != uint64(want) || ph.t.runs != want {
		return ph, fmt.Errorf("%s: sent %d runs, ClickHouse holds %d distinct, want %d", ph.name, ph.t.runs, n, want)
	}
	ph.stored = n
	return ph, nil
}

func cores(m map[string]float64) []cpu {
	var out []cpu
	for k, v := range m {
		out = append(out, cpu{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].group < out[j].group })
	return out
}

func cpuText(cs []cpu) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %.2f", c.group, c.cores)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printTable(p params, version string, avgJSON float64, phases []phase) {
	fmt.Printf("api ingest benchmark: ClickHouse %s, %d cores, %s; %s runs (about %.0f bytes of JSON a run), %d runs a request, %d in flight, Content-Encoding %s\n",
		version, runtime.NumCPU(), runtime.Version(), report.Count(p.runs), avgJSON, p.batch, p.width, p.encoding())
	fmt.Printf("%-26s %9s %9s %9s %10s %11s %9s %9s %9s %9s\n",
		"path", "runs", "calls", "seconds", "runs/s", "calls/s", "p50 ms", "p99 ms", "MB sent", "stored")
	for _, ph := range phases {
		sent := "-"
		if ph.bytes > 0 {
			sent = fmt.Sprintf("%.1f", float64(ph.bytes)/(1<<20))
		}
		fmt.Printf("%-26s %9d %9d %9.2f %10.0f %11.1f %9.1f %9.1f %9s %9d\n",
			ph.name, ph.t.runs, ph.t.calls, ph.t.elapsed.Seconds(), ph.t.runsPerSec(), ph.t.callsPerSec(),
			ms(ph.t.pct(0.5)), ms(ph.t.pct(0.99)), sent, ph.stored)
	}
	for _, ph := range phases[1:] {
		fmt.Printf("%s / direct insert: %.2f\n", ph.name, ph.t.runsPerSec()/phases[0].t.runsPerSec())
	}
	for _, ph := range phases {
		fmt.Printf("CPU during %s (cores): %s\n", ph.name, cpuText(ph.cpu))
	}
}
