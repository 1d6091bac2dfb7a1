// Command floor measures what Temporal does on this machine with no runhook
// work: (a) workflows of one no-op activity each, (b) one workflow fanning
// out no-op activities, (c) the same with local activities, on a worker with
// the product's options (worker.*), and the CPU each unit costs the Temporal
// server and the worker. The product benches print their figures beside
// these; docs/capacity.md sizes deployments from the CPU per unit.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/bench/internal/floor"
	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/temporal"
)

func main() {
	var s floor.Sizes
	flag.IntVar(&s.Workflows, "workflows", 500, "(a) workflows of one no-op activity")
	flag.IntVar(&s.Activities, "activities", 2000, "(b) no-op activities fanned out by one workflow")
	flag.IntVar(&s.Local, "local", 5000, "(c) local no-op activities fanned out by one workflow")
	flag.IntVar(&s.InFlight, "inflight", 64, "workflows or activities in flight at once")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("floor", "Temporal floor (no-op work)", flag.CommandLine)
	err := run(s, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(s floor.Sizes, out *report.Doc) error {
	ctx := context.Background()
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return err
	}
	c, err := temporal.Dial(ctx, cfg.Temporal, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return fmt.Errorf("%w (start the services with `make services`)", err)
	}
	defer c.Close()
	queue := fmt.Sprintf("bench-floor-%d", time.Now().UnixNano())
	w := worker.New(c, queue, app.WorkerOptions(cfg.Worker))
	floor.Register(w)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	phases, err := floor.Run(ctx, c, queue, s, floor.NewMeter())
	if err != nil {
		return err
	}
	fmt.Printf("Temporal floor: %d cores, %s, worker pollers %d, max activities %d\n",
		runtime.NumCPU(), runtime.Version(), cfg.Worker.Pollers, cfg.Worker.MaxActivities)
	floor.Print(phases)
	for _, p := range phases {
		out.Add(p.Name, p.Rate, p.Unit+"/s")
	}
	for _, p := range phases {
		for _, k := range []string{"temporal", "worker and client"} {
			if ms, ok := p.CPUms[k]; ok {
				out.Add(fmt.Sprintf("%s CPU per unit of %s", k, p.Name[:3]), ms, "ms")
			}
		}
	}
	out.Note("Worker in the bench's process with the product's worker options; CPU per unit is the process group's CPU time over the phase divided by its units.")
	return nil
}
