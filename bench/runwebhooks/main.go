// Command runwebhooks measures run-completion webhooks end to end: runs
// created already ended through bin/server's POST /runs/batch, each with a
// webhook of its own, offered at a steady rate, until each arrives at a
// loopback receiver through a bin/worker process. It prints delivered runs/s
// and the latency from the API's answer to the receiver, beside the floor
// that one workflow per unit of work has on the same Temporal server.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/runhook/runhook/bench/internal/floor"
	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/api"
)

func main() {
	n := flag.Int("runs", 1000, "runs created, each with its own webhook")
	rate := flag.Float64("rate", 100, "runs offered per second")
	batch := flag.Int("batch", 10, "runs per POST /runs/batch")
	floorN := flag.Int("floor-workflows", 300, "workflows of the floor (a) measured first; 0 skips it")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("runwebhooks", "run-completion webhooks through bin/server", flag.CommandLine)
	err := run(*n, *rate, *batch, *floorN, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int, rate float64, batch, floorN int, out *report.Doc) error {
	ctx := context.Background()
	r, err := rig.New(ctx, "runhooks")
	if err != nil {
		return fmt.Errorf("%w (start the services with `make services`)", err)
	}
	defer r.Close()
	dir := r.Dir

	// The floor first, on the same server, with the worker's options.
	var floorRate float64
	if floorN > 0 {
		if floorRate, err = floor.OwnWorker(ctx, r, floorN); err != nil {
			return err
		}
	}

	workerBin, err := rig.Build(ctx, dir, "worker")
	if err != nil {
		return err
	}
	serverBin, err := rig.Build(ctx, dir, "server")
	if err != nil {
		return err
	}
	wk, err := r.StartWorker(workerBin, filepath.Join(dir, "worker.log"))
	if err != nil {
		return err
	}
	defer wk.Stop()
	if err := r.WaitPolling(ctx, []*rig.Worker{wk}, time.Minute); err != nil {
		return err
	}
	addr, err := rig.FreeAddr()
	if err != nil {
		return err
	}
	key := "bench-" + uuid.NewString()
	srv, err := r.Start(serverBin, filepath.Join(dir, "server.log"),
		"RUNHOOK_API_ADDR="+addr, "RUNHOOK_API_PUBLIC_URL=http://"+addr, "RUNHOOK_API_KEY_HASHES="+api.HashKey(key))
	if err != nil {
		return err
	}
	defer srv.Stop()
	base := "http://" + addr
	if err := rig.WaitServer(ctx, base, srv); err != nil {
		return err
	}

	// Bodies first, so the clock times runhook, not the client.
	bodies, ids, err := requests(n, batch, r.Recv.URL())
	if err != nil {
		return err
	}
	groups := map[string][]int{"worker": {wk.Pid()}, "server": {srv.Pid()}}
	for name, pid := range rig.ServicePIDs() {
		groups[name] = []int{pid}
	}
	meter := rig.NewCPUMeter(groups)
	meter.Mark()
	client := &http.Client{Timeout: time.Minute}
	answered := make([]time.Time, len(bodies))
	var g errgroup.Group
	g.SetLimit(64)
	start := time.Now()
	every := time.Duration(float64(time.Second) * float64(batch) / rate)
	for i, body := range bodies {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		g.Go(func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/runs/batch", bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", key)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				return fmt.Errorf("POST /runs/batch: %s", resp.Status)
			}
			answered[i] = time.Now()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	offered := time.Since(start)
	deadline := time.Now().Add(10*time.Minute + time.Duration(float64(n)/10)*time.Second)
	for {
		if _, got := r.Recv.Counts(); got >= n {
			break
		}
		if time.Now().After(deadline) {
			_, got := r.Recv.Counts()
			return fmt.Errorf("%d of %d run webhooks arrived", got, n)
		}
		select {
		case <-wk.Exited():
			return fmt.Errorf("worker exited: %v", wk.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	cpu := meter.Since()
	arrivals := r.Recv.Arrivals()
	var lat []time.Duration
	var last time.Time
	for i, group := range ids {
		for _, id := range group {
			at, ok := arrivals[id]
			if !ok {
				return fmt.Errorf("run %s never arrived", id)
			}
			lat = append(lat, at.Sub(answered[i]))
			if at.After(last) {
				last = at
			}
		}
	}
	slices.Sort(lat)
	posts, runs := r.Recv.Counts()
	elapsed := last.Sub(start)
	delivered := float64(n) / elapsed.Seconds()

	fmt.Printf("run-completion webhooks: %d runs created ended through POST /runs/batch (%d a request), offered at %.0f runs/s over %.1f s; %d cores, %s\n",
		n, batch, rate, offered.Seconds(), runtime.NumCPU(), runtime.Version())
	fmt.Printf("delivered: %.1f runs/s (first request to last arrival %.1f s); %d POSTs, %d runs received\n", delivered, elapsed.Seconds(), posts, runs)
	fmt.Printf("latency, API answered -> receiver: p50 %s, p99 %s, max %s\n",
		rig.Pct(lat, 0.5).Round(time.Millisecond), rig.Pct(lat, 0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	out.Add("delivered", delivered, "runs/s")
	out.Add("latency p50", rig.Pct(lat, 0.5).Seconds(), "s")
	out.Add("latency p99", rig.Pct(lat, 0.99).Seconds(), "s")
	fmt.Printf("CPU, cores busy: %s\n", floor.PerUnit(out, cpu, elapsed.Seconds(), n, "run"))
	if floorRate > 0 {
		fmt.Printf("floor (a), workflows of one no-op activity on the same server: %.1f/s; ratio delivered / floor (a): %.2f\n", floorRate, delivered/floorRate)
		out.Add("floor (a)", floorRate, "workflows/s")
		out.SetRatio("delivered / floor (a)", delivered/floorRate)
	}
	out.Note("Each run is created ended with a webhook of its own; the runs of a request share one RunWebhooks workflow, and each is posted by a Deliver activity of its own. Offered at %.0f runs/s, %d runs a request; latency from the API's answer to the receiver.", rate, batch)
	return nil
}

// requests builds the POST /runs/batch bodies: runs created ended, each with
// its own webhook (a token in its query, as LangGraph's docs suggest).
func requests(n, batch int, hook string) ([][]byte, [][]uuid.UUID, error) {
	var bodies [][]byte
	var ids [][]uuid.UUID
	now := time.Now().UTC()
	for lo := 0; lo < n; lo += batch {
		var post []map[string]any
		var group []uuid.UUID
		for i := lo; i < min(lo+batch, n); i++ {
			id := uuid.New()
			start := now.Add(-time.Second)
			post = append(post, map[string]any{
				"id": id, "trace_id": id, "name": "agent", "run_type": "chain", "session_name": "bench-runwebhooks",
				"start_time": start.Format(time.RFC3339Nano), "end_time": now.Format(time.RFC3339Nano),
				"dotted_order": start.Format("20060102T150405.000000Z") + id.String(),
				"inputs":       map[string]any{"question": "what is runhook?"}, "outputs": map[string]any{"answer": "webhooks"},
				"webhook": fmt.Sprintf("%s?token=bench-%d", hook, i),
			})
			group = append(group, id)
		}
		body, err := json.Marshal(map[string]any{"post": post})
		if err != nil {
			return nil, nil, err
		}
		bodies, ids = append(bodies, body), append(ids, group)
	}
	return bodies, ids, nil
}
