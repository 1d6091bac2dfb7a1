// Command detect measures detection latency: from the moment InsertRuns
// returns for a run to the moment the webhook carrying it reaches a loopback
// receiver, through one rule ticking every few seconds on a worker in this
// process (schedule, RuleTick, MatchWindow, DeliverRuns, the POST). Runs are
// inserted a small batch at a time at random moments, as they would arrive.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/workflows"
)

func main() {
	n := flag.Int("runs", 100, "runs to insert")
	maxBatch := flag.Int("max-batch", 3, "largest batch; each batch is 1..max-batch runs")
	over := flag.Duration("over", 150*time.Second, "the inserts are spread at random over this long")
	interval := flag.Duration("interval", 5*time.Second, "the rule's interval")
	settle := flag.Duration("settle-lag", 0, "rules.settle_lag for the worker (0: the configured value, default 1s)")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("detect", fmt.Sprintf("detection latency at %s interval", human(*interval)), flag.CommandLine)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *n, *maxBatch, *over, *interval, *settle, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// human writes 5s as "5 s", for the table.
func human(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%g s", d.Seconds())
}

func run(ctx context.Context, n, maxBatch int, over, interval, settle time.Duration, out *report.Doc) error {
	r, err := rig.New(ctx, "detect")
	if err != nil {
		return err
	}
	defer r.Close()
	if settle > 0 {
		r.Cfg.Rules.SettleLag = settle
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	acts, err := app.Activities(r.Cfg, r.Store, logger)
	if err != nil {
		return err
	}
	acts.Schedules = r.Schedule
	w := worker.New(r.Client, r.Queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	project := uuid.New()
	yaml := fmt.Sprintf(`rules:
  - name: detect-bench
    project: %s
    filter: 'eq(is_root, true)'
    interval: %s
    webhooks:
      - url: %s
`, project, interval, r.Recv.URL())
	if _, err := r.Apply(ctx, yaml, 1); err != nil {
		return err
	}

	// Batches of 1..maxBatch runs at sorted random offsets in [0, over).
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var sizes []int
	for left := n; left > 0; {
		s := min(1+rng.IntN(maxBatch), left)
		sizes = append(sizes, s)
		left -= s
	}
	offsets := make([]time.Duration, len(sizes))
	for i := range offsets {
		offsets[i] = time.Duration(rng.Int64N(int64(over)))
	}
	slices.Sort(offsets)

	stored := map[uuid.UUID]time.Time{}
	var insertTimes []time.Duration
	begin := time.Now()
	for i, size := range sizes {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(begin.Add(offsets[i]))):
		}
		batch := make([]runs.Run, size)
		now := time.Now().UTC().Truncate(time.Microsecond)
		for j := range batch {
			id := uuid.New()
			start := now.Add(-2 * time.Second)
			batch[j] = runs.Run{ID: id, TraceID: id, SessionID: project, Name: "agent", RunType: "chain", Status: "success",
				IsRoot: true, StartTime: start, EndTime: &now, ModifiedAt: now, Tags: []string{},
				Inputs: json.RawMessage(`{"question":"what is runhook?"}`), Outputs: json.RawMessage(`{"answer":"webhooks"}`)}
		}
		t := time.Now()
		if err := r.Store.InsertRuns(ctx, batch); err != nil {
			return err
		}
		done := time.Now()
		insertTimes = append(insertTimes, done.Sub(t))
		for _, b := range batch {
			stored[b.ID] = done
		}
	}

	// Every run should arrive within a few intervals of the last insert.
	deadline := time.Now().Add(10*interval + r.Cfg.Rules.SettleLag + 30*time.Second)
	for len(r.Recv.Arrivals()) < n && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	got := r.Recv.Arrivals()
	var lat []time.Duration
	for id, at := range stored {
		if a, ok := got[id]; ok {
			lat = append(lat, a.Sub(at))
		}
	}
	slices.Sort(lat)
	slices.Sort(insertTimes)
	posts, delivered := r.Recv.Counts()

	fmt.Printf("detection benchmark: %d cores, %s; one rule, interval %s, rules.settle_lag %s, in-process worker, loopback receiver\n",
		runtime.NumCPU(), runtime.Version(), interval, r.Cfg.Rules.SettleLag)
	fmt.Printf("%d runs in %d batches of 1..%d at random moments over %s; InsertRuns took median %.1f ms, max %.1f ms\n",
		n, len(sizes), maxBatch, over, ms(rig.Pct(insertTimes, 0.5)), ms(insertTimes[len(insertTimes)-1]))
	fmt.Printf("received %d of %d runs (%d run deliveries in %d POSTs)\n", len(lat), n, delivered, posts)
	if len(lat) == 0 {
		return fmt.Errorf("no run arrived")
	}
	fmt.Printf("%-36s %8s %8s %8s %8s %8s %8s\n", "latency (InsertRuns return -> POST)", "min s", "p50 s", "p90 s", "p99 s", "max s", "mean s")
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	fmt.Printf("%-36s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", "", lat[0].Seconds(), rig.Pct(lat, 0.5).Seconds(), rig.Pct(lat, 0.9).Seconds(),
		rig.Pct(lat, 0.99).Seconds(), lat[len(lat)-1].Seconds(), (sum / time.Duration(len(lat))).Seconds())
	if len(lat) < n {
		return fmt.Errorf("%d runs never arrived", n-len(lat))
	}
	out.Add("p50", rig.Pct(lat, 0.5).Seconds(), "s")
	out.Add("p99", rig.Pct(lat, 0.99).Seconds(), "s")
	out.Add("max", lat[len(lat)-1].Seconds(), "s")
	out.Note("From InsertRuns returning to the POST reaching the receiver; %d runs, rules.settle_lag %s.", len(lat), r.Cfg.Rules.SettleLag)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
