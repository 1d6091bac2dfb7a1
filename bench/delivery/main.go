// Command delivery measures webhook delivery through Temporal (one Delivery
// workflow per POST: Deliver and RecordOutcome activities, attempts and
// outcomes written to ClickHouse) against a bare Go HTTP client posting the
// same payloads to the same loopback receiver, and prints both with the ratio.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/temporal"
	"github.com/runhook/runhook/workflows"
)

func main() {
	posts := flag.Int("posts", 1000, "deliveries (POSTs) per measurement")
	perPost := flag.Int("runs-per-post", 10, "runs in each POST")
	concurrency := flag.Int("concurrency", 64, "POSTs in flight at once")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("delivery", "delivery through Temporal", flag.CommandLine)
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
	defer store.DropDatabase(ctx)
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
	box, _ := secrets.New(key)
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
	queue := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	wk := worker.New(c, queue, worker.Options{})
	wk.RegisterWorkflow(workflows.Delivery)
	wk.RegisterActivity(&activities.Activities{
		Store: store, Secrets: box, Logger: logger,
		Sender: delivery.NewSender(delivery.SenderOptions{Timeout: 5 * time.Second,
			Guard: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}),
	})
	if err := wk.Start(); err != nil {
		return err
	}
	defer wk.Stop()

	received.Store(0)
	var failed atomic.Int64
	start = time.Now()
	if err := rig.Parallel(posts, concurrency, func(i int) error {
		id := fmt.Sprintf("bench-%s-%d", rule, i)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.Delivery,
			workflows.DeliveryInput{DeliveryID: id, RuleID: rule, WindowStart: now.Add(-time.Minute), WindowEnd: now, RunIDs: batches[i]})
		if err != nil {
			return err
		}
		var res workflows.DeliveryResult
		if err := run.Get(ctx, &res); err != nil {
			return err
		}
		if !res.Delivered {
			failed.Add(1)
		}
		return nil
	}); err != nil {
		return err
	}
	temporalTime := time.Since(start)
	if failed.Load() > 0 || received.Load() != int64(posts) {
		return fmt.Errorf("through Temporal: %d failed, %d of %d received", failed.Load(), received.Load(), posts)
	}

	version, _ := store.ServerVersion(ctx)
	fmt.Printf("delivery benchmark: %d POSTs of %d runs (%d bytes each), %d in flight, %d cores, ClickHouse %s, loopback receiver\n",
		posts, perPost, len(bodies[0]), concurrency, runtime.NumCPU(), version)
	fmt.Printf("%-52s %10s %10s %12s\n", "path", "seconds", "POSTs/s", "runs/s")
	row := func(name string, d time.Duration) {
		fmt.Printf("%-52s %10.2f %10.0f %12.0f\n", name, d.Seconds(), float64(posts)/d.Seconds(), float64(posts*perPost)/d.Seconds())
	}
	row("bare Go client, prebuilt payloads", bareTime)
	row("Temporal Delivery workflow (build, send, record)", temporalTime)
	fmt.Printf("ratio Temporal / bare (POSTs/s): %.5f\n", bareTime.Seconds()/temporalTime.Seconds())
	out.Add("Temporal", float64(posts)/temporalTime.Seconds(), "POSTs/s")
	out.Add("Temporal", float64(posts*perPost)/temporalTime.Seconds(), "runs/s")
	out.Add("bare client", float64(posts)/bareTime.Seconds(), "POSTs/s")
	out.SetRatio("Temporal / bare client", bareTime.Seconds()/temporalTime.Seconds())
	out.Note("One Delivery workflow per POST (Deliver and RecordOutcome activities), worker in the bench's process.")
	return nil
}
