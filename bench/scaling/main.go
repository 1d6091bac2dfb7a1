// Command scaling measures what a second worker process adds: the same load
// of DeliverRuns workflows (a page of runs each, a Deliver activity per POST
// that builds it, sends it to a loopback receiver and records attempt and
// outcome) is delivered through one bin/worker process and then through N on
// the same task queue, and it prints runs/s for each and the ratio. It reads
// the CPU the workers, the bench, the Temporal dev server, ClickHouse and the
// whole machine used in each phase from /proc, which says what bounds the
// ratio.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/workflows"
)

type options struct {
	posts, perPost, concurrency, workers int
	rounds                               int
	workerBin                            string
}

func main() {
	var o options
	flag.IntVar(&o.posts, "posts", 500, "deliveries (POSTs) in each phase")
	flag.IntVar(&o.perPost, "runs-per-post", 10, "runs in each POST")
	flag.IntVar(&o.concurrency, "concurrency", 64, "deliveries in flight at once")
	flag.IntVar(&o.workers, "workers", 2, "worker processes in the second phase (the first has one)")
	flag.IntVar(&o.rounds, "rounds", 2, "measurements of each setup, in the order 1, N, N, 1, 1, N, … so a drift in the machine's other load falls on both")
	flag.StringVar(&o.workerBin, "worker", "", "worker binary (default: build ./worker into a temporary directory)")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("scaling", fmt.Sprintf("%s workers vs one", count(o.workers)), flag.CommandLine)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, o, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func count(n int) string {
	if n == 2 {
		return "two"
	}
	return report.Count(n)
}

// phase is one measurement: k workers, the same load.
type phase struct {
	workers int
	took    time.Duration
	cpu     map[string]float64
}

func run(ctx context.Context, o options, out *report.Doc) error {
	if o.workers < 2 || o.posts < 1 || o.perPost < 1 || o.rounds < 1 {
		return fmt.Errorf("need -workers >= 2, -posts >= 1, -runs-per-post >= 1, -rounds >= 1")
	}
	r, err := rig.New(ctx, "scaling")
	if err != nil {
		return err
	}
	defer r.Close()
	bin, err := rig.Binary(ctx, o.workerBin, r.Dir, "worker")
	if err != nil {
		return err
	}

	box, err := app.Secrets(r.Cfg.Secrets)
	if err != nil {
		return err
	}
	rule := uuid.New()
	hook, err := delivery.Seal(box, app.URLPolicy(r.Cfg.Delivery), rule, 0, delivery.Target{URL: r.Recv.URL()}, time.Now())
	if err != nil {
		return err
	}
	if err := r.Store.PutWebhooks(ctx, []clickhouse.Webhook{hook}); err != nil {
		return err
	}

	var phases []phase
	for i := range o.rounds {
		order := []int{1, o.workers}
		if i%2 == 1 {
			order = []int{o.workers, 1}
		}
		for _, k := range order {
			p, err := measure(ctx, r, o, bin, rule, k)
			if err != nil {
				return fmt.Errorf("%d worker(s): %w", k, err)
			}
			phases = append(phases, p)
			fmt.Fprintf(os.Stderr, "%d worker(s): %.1f runs/s\n", k, float64(o.posts*o.perPost)/p.took.Seconds())
		}
	}

	fmt.Printf("scaling benchmark: %d POSTs of %d runs each per phase in DeliverRuns pages, %d pages in flight, bin/worker processes on one task queue, %d rounds; %d cores, %s; Temporal dev server and ClickHouse on loopback\n",
		o.posts, o.perPost, o.concurrency, o.rounds, runtime.NumCPU(), runtime.Version())
	fmt.Printf("%-20s %10s %10s %12s   %s\n", "worker processes", "seconds", "POSTs/s", "runs/s", "cores busy on average")
	var order []string
	for _, p := range phases {
		fmt.Printf("%-20d %10.2f %10.1f %12.1f   %s\n", p.workers, p.took.Seconds(), float64(o.posts)/p.took.Seconds(),
			float64(o.posts*o.perPost)/p.took.Seconds(), cpuLine(p.cpu))
		order = append(order, fmt.Sprintf("%d: %.1f", p.workers, float64(o.posts*o.perPost)/p.took.Seconds()))
	}
	one, many := combine(phases, 1), combine(phases, o.workers)
	perSec := func(c phase) float64 { return float64(o.rounds*o.posts*o.perPost) / c.took.Seconds() }
	ratio := perSec(many) / perSec(one)
	fmt.Printf("all rounds: 1 worker %.1f runs/s, %d workers %.1f runs/s; ratio %d / 1: %.2f\n", perSec(one), o.workers, perSec(many), o.workers, ratio)

	out.Add("one worker", perSec(one), "runs/s")
	out.Add(fmt.Sprintf("%s workers", count(o.workers)), perSec(many), "runs/s")
	out.SetRatio(fmt.Sprintf("%s workers / one", count(o.workers)), ratio)
	out.Note("Runs/s over all %d rounds; each phase in order (workers: runs/s): %s.", o.rounds, strings.Join(order, ", "))
	out.Note("Cores busy with 1 worker: %s.", cpuLine(one.cpu))
	out.Note("With %d workers: %s.", o.workers, cpuLine(many.cpu))
	return nil
}

// combine adds up the phases with k workers: their time, and the cores
// each process group kept busy weighted by it.
func combine(phases []phase, k int) phase {
	c := phase{workers: k, cpu: map[string]float64{}}
	for _, p := range phases {
		if p.workers == k {
			c.took += p.took
		}
	}
	for _, p := range phases {
		if p.workers == k {
			for g, v := range p.cpu {
				c.cpu[g] += v * p.took.Seconds() / c.took.Seconds()
			}
		}
	}
	return c
}

// measure inserts the phase's own runs, starts k worker processes, warms them
// up, then times o.posts deliveries at o.concurrency and stops the workers.
func measure(ctx context.Context, r *rig.Rig, o options, bin string, rule uuid.UUID, k int) (phase, error) {
	session := uuid.New()
	now := time.Now().UTC().Truncate(time.Microsecond)
	end := now.Add(time.Second)
	batches := make([][]uuid.UUID, o.posts)
	var all []runs.Run
	for i := range batches {
		for range o.perPost {
			id := uuid.New()
			all = append(all, runs.Run{ID: id, TraceID: id, SessionID: session, Name: "agent", RunType: "chain", Status: "success",
				IsRoot: true, StartTime: now, EndTime: &end, ModifiedAt: end, Tags: []string{},
				Inputs: json.RawMessage(`{"question":"what is runhook?"}`), Outputs: json.RawMessage(`{"answer":"webhooks"}`)})
			batches[i] = append(batches[i], id)
		}
	}
	if err := r.Store.InsertRuns(ctx, all); err != nil {
		return phase{}, err
	}

	var workers []*rig.Worker
	defer func() {
		for _, w := range workers {
			w.Stop()
		}
	}()
	pids := []int{}
	for i := range k {
		w, err := r.StartWorker(bin, filepath.Join(r.Dir, fmt.Sprintf("worker-%d-of-%d.log", i+1, k)))
		if err != nil {
			return phase{}, err
		}
		workers = append(workers, w)
		pids = append(pids, w.Pid())
	}
	if err := r.WaitPolling(ctx, workers, time.Minute); err != nil {
		return phase{}, err
	}

	// The first n batches, in DeliverRuns of a page of runs each as ticks
	// hand them on, concurrency at a time; each POST is a Deliver activity.
	perPage := max(1, r.Cfg.Rules.PageSize/o.perPost)
	deliver := func(prefix string, n int) error {
		pages := (n + perPage - 1) / perPage
		return rig.Parallel(pages, o.concurrency, func(p int) error {
			// The phase's session makes the ids unique across rounds.
			id := fmt.Sprintf("%s-%s-%d", prefix, session, p)
			var ids []uuid.UUID
			for _, b := range batches[p*perPage : min((p+1)*perPage, n)] {
				ids = append(ids, b...)
			}
			run, err := r.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: r.Queue}, workflows.DeliverRuns,
				workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, WindowStart: now.Add(-time.Minute), WindowEnd: end, RunIDs: ids}, MaxRuns: o.perPost})
			if err != nil {
				return err
			}
			var res workflows.DeliverRunsResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			if res.Failed > 0 {
				return fmt.Errorf("deliveries of %s: %d failed", id, res.Failed)
			}
			return nil
		})
	}
	// A first, uncounted round opens the workers' connections and caches;
	// it sends some of the phase's runs a first time, which is harmless here.
	if err := deliver("warm", min(o.concurrency, o.posts)); err != nil {
		return phase{}, err
	}

	groups := map[string][]int{"workers": pids, "bench": {os.Getpid()}}
	for name, pid := range rig.ServicePIDs() {
		groups[name] = []int{pid}
	}
	meter := rig.NewCPUMeter(groups)
	postsBefore, _ := r.Recv.Counts()
	meter.Mark()
	start := time.Now()
	if err := deliver("bench", o.posts); err != nil {
		return phase{}, err
	}
	took := time.Since(start)
	cpu := meter.Since()
	if postsAfter, _ := r.Recv.Counts(); postsAfter-postsBefore != o.posts {
		return phase{}, fmt.Errorf("%d POSTs received for %d deliveries", postsAfter-postsBefore, o.posts)
	}
	for i, w := range workers {
		select {
		case <-w.Exited():
			return phase{}, fmt.Errorf("worker %d exited during the phase: %v", i+1, w.Err())
		default:
		}
	}
	return phase{workers: k, took: took, cpu: cpu}, nil
}

// cpuLine lists the groups by name, the machine last.
func cpuLine(cpu map[string]float64) string {
	var names []string
	for k := range cpu {
		if k != rig.Machine {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, cpu[k]))
	}
	if v, ok := cpu[rig.Machine]; ok {
		// What the listed processes do not account for is other work on the
		// machine, which a shared machine has plenty of.
		rest := v
		for _, k := range names {
			rest -= cpu[k]
		}
		parts = append(parts, fmt.Sprintf("other processes %.2f, machine %.2f of %d", max(rest, 0), v, runtime.NumCPU()))
	}
	return strings.Join(parts, ", ")
}
