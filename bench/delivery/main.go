// Command delivery measures webhook delivery through Temporal as the worker
// runs it (DeliverRuns workflows of a page of runs each, a Deliver activity per POST that builds
// the payload, sends it and records attempt and outcome) beside the floor of
// the same Temporal server and worker (one workflow fanning out as many no-op
// activities) and a bare Go HTTP client posting the same payloads to the same
// loopback receiver, and prints the ratios.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/bench/internal/floor"
	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/temporal"
	"github.com/runhook/runhook/workflows"
)

func main() {
	posts := flag.Int("posts", 1000, "deliveries (POSTs) per measurement")
	perPost := flag.Int("runs-per-post", 10, "runs in each POST")
	concurrency := flag.Int("concurrency", 64, "POSTs in flight at once")
	engine := report.EngineFlag()
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("delivery", fmt.Sprintf("delivery through Temporal, %d runs per POST", *perPost)+report.OnEngine(*engine), flag.CommandLine)
	err := run(*posts, *perPost, *concurrency, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(posts, perPost, concurrency int, out *report.Doc) error {
	ctx := context.Background()
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return err
	}
	cfg.ClickHouse.Database = fmt.Sprintf("runhook_bench_%d", time.Now().UnixNano())
	store, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return fmt.Errorf("%w (start the services with `make services`)", err)
	}
	defer store.Close()
	defer clickhousetest.DropDatabase(ctx, store)
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}

	var received atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(200)
	}))
	defer rcv.Close()

	// Runs, one batch of IDs per POST.
	session := uuid.New()
	now := time.Now().UTC()
	batches := make([][]uuid.UUID, posts)
	var all []runs.Run
	for i := range batches {
		for j := 0; j < perPost; j++ {
			id := uuid.New()
			end := now.Add(time.Second)
			all = append(all, runs.Run{ID: id, TraceID: id, SessionID: session, Name: "agent", RunType: "chain", Status: "success",
				IsRoot: true, StartTime: now, EndTime: &end, ModifiedAt: end,
				Inputs: json.RawMessage(`{"question":"what is runhook?"}`), Outputs: json.RawMessage(`{"answer":"webhooks"}`)})
			batches[i] = append(batches[i], id)
		}
	}
	if err := store.InsertRuns(ctx, all); err != nil {
		return err
	}

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.Secrets.Key = base64.StdEncoding.EncodeToString(key)
	cfg.Delivery.AllowCIDRs = []string{"127.0.0.0/8"}
	cfg.Delivery.MaxRunsPerDelivery = perPost
	box, err := app.Secrets(cfg.Secrets)
	if err != nil {
		return err
	}
	rule := uuid.New()
	target := delivery.Target{URL: rcv.URL + "/hook?secret=bench"}
	w, err := delivery.Seal(box, delivery.URLPolicy{}, rule, 0, target, time.Now())
	if err != nil {
		return err
	}
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{w}); err != nil {
		return err
	}

	// The same payloads, built once, for the bare client.
	bodies := make([][]byte, posts)
	for i, ids := range batches {
		p, err := payload.Build(ctx, store, rule, now.Add(-time.Minute), now, ids)
		if err != nil {
			return err
		}
		if bodies[i], err = runs.MarshalJSON(p); err != nil {
			return err
		}
	}
	bare := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	start := time.Now()
	if err := rig.Parallel(posts, concurrency, func(i int) error {
		resp, err := bare.Post(rcv.URL+"/hook?secret=bench", "application/json", bytes.NewReader(bodies[i]))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}); err != nil {
		return err
	}
	bareTime := time.Since(start)

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := temporal.Dial(ctx, cfg.Temporal, logger)
	if err != nil {
		return fmt.Errorf("%w (start the services with `make services`)", err)
	}
	defer c.Close()
	// The worker as bin/worker runs it: its options, workflows and activities.
	queue := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	wk := worker.New(c, queue, app.WorkerOptions(cfg.Worker))
	workflows.Register(wk)
	floor.Register(wk)
	acts, err := app.Activities(cfg, store, logger)
	if err != nil {
		return err
	}
	wk.RegisterActivity(acts)
	if err := wk.Start(); err != nil {
		return err
	}
	defer wk.Stop()

	// The floor, on the same server and worker: one workflow fanning out as
	// many no-op activities as there are POSTs.
	meter := floor.NewMeter()
	phases, err := floor.Run(ctx, c, queue, floor.Sizes{Activities: posts, InFlight: concurrency}, meter)
	if err != nil {
		return err
	}
	floorRate := phases[0].Rate

	// The product: the runs in pages of rules.page_size, as a tick hands
	// them on, one DeliverRuns each, max_runs_per_delivery apart, so each
	// POST is one Deliver activity (build, send, record).
	var ids []uuid.UUID
	for _, b := range batches {
		ids = append(ids, b...)
	}
	page := cfg.Rules.PageSize / perPost * perPost
	received.Store(0)
	meter.Mark()
	start = time.Now()
	var runs []client.WorkflowRun
	for k, lo := 0, 0; lo < len(ids); k, lo = k+1, lo+page {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench-deliver-%s-%d", rule, k), TaskQueue: queue},
			workflows.DeliverRuns, workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, WindowStart: now.Add(-time.Minute), WindowEnd: now,
				RunIDs: ids[lo:min(lo+page, len(ids))]}, MaxRuns: perPost})
		if err != nil {
			return err
		}
		runs = append(runs, run)
	}
	var res workflows.DeliverRunsResult
	for _, run := range runs {
		var r workflows.DeliverRunsResult
		if err := run.Get(ctx, &r); err != nil {
			return err
		}
		res.Delivered += r.Delivered
		res.Failed += r.Failed
	}
	temporalTime := time.Since(start)
	cpu := meter.Since()
	if res.Delivered != posts || received.Load() != int64(posts) {
		return fmt.Errorf("through Temporal: %+v, %d of %d received", res, received.Load(), posts)
	}

	version, _ := store.ServerVersion(ctx)
	fmt.Printf("delivery benchmark: %d POSTs of %d runs (%d bytes each), %d cores, ClickHouse %s, loopback receiver\n",
		posts, perPost, len(bodies[0]), runtime.NumCPU(), version)
	fmt.Printf("%-60s %10s %10s %12s\n", "path", "seconds", "POSTs/s", "runs/s")
	row := func(name string, d time.Duration) {
		fmt.Printf("%-60s %10.2f %10.0f %12.0f\n", name, d.Seconds(), float64(posts)/d.Seconds(), float64(posts*perPost)/d.Seconds())
	}
	row(fmt.Sprintf("bare Go client, prebuilt payloads, %d in flight", concurrency), bareTime)
	row(fmt.Sprintf("Temporal: DeliverRuns of %d runs, a Deliver activity per POST", page), temporalTime)
	rate := float64(posts) / temporalTime.Seconds()
	fmt.Printf("floor (b), the same server and worker: %.0f no-op activities/s, %d in flight\n", floorRate, concurrency)
	fmt.Printf("ratio Temporal / floor (b): %.2f; Temporal / bare client: %.5f\n", rate/floorRate, bareTime.Seconds()/temporalTime.Seconds())
	out.Add("Temporal", rate, "POSTs/s")
	out.Add("Temporal", float64(posts*perPost)/temporalTime.Seconds(), "runs/s")
	out.Add("floor (b)", floorRate, "activities/s")
	out.Add("bare client", float64(posts)/bareTime.Seconds(), "POSTs/s")
	fmt.Printf("CPU during delivery, cores busy: %s\n", floor.PerUnit(out, cpu, temporalTime.Seconds(), posts, "POST"))
	out.SetRatio("Temporal / floor (b)", rate/floorRate)
	out.Note("DeliverRuns workflows of rules.page_size runs (%d), as ticks hand them on, each scheduling a Deliver activity per POST (it builds the payload, sends, records attempt and outcome through group commit); the floor is one workflow fanning out as many no-op activities, %d in flight; worker in the bench's process with the product's worker options. Bare client / Temporal: %.5f.", page, concurrency, bareTime.Seconds()/temporalTime.Seconds())
	return nil
}
