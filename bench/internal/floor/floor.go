// Package floor measures what the Temporal server and a worker with the
// product's options do with no runhook work at all: the floor that the
// delivery, run-webhook and rule benches print their figures against, in the
// same run, as a ratio.
package floor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/app"
	rhtemporal "github.com/runhook/runhook/internal/temporal"
)

// Register puts the floor's workflows and activity on a worker.
func Register(w worker.Worker) {
	w.RegisterWorkflowWithOptions(OneActivity, workflow.RegisterOptions{Name: "FloorOneActivity"})
	w.RegisterWorkflowWithOptions(FanOut, workflow.RegisterOptions{Name: "FloorFanOut"})
	w.RegisterActivityWithOptions(Noop, activity.RegisterOptions{Name: "FloorNoop"})
}

// Noop is the activity that does nothing.
func Noop(context.Context) error { return nil }

var options = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
}

// OneActivity is a workflow of one no-op activity: floor (a), the cost of a
// unit of work that has a workflow of its own.
func OneActivity(ctx workflow.Context) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, options), "FloorNoop").Get(ctx, nil)
}

// FanOutInput shapes one fan-out.
type FanOutInput struct {
	N, InFlight int
	Local       bool
}

// FanOut runs N no-op activities from one workflow, InFlight at a time:
// floor (b), or with Local floor (c).
func FanOut(ctx workflow.Context, in FanOutInput) error {
	ctx = workflow.WithActivityOptions(ctx, options)
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: options.RetryPolicy,
	})
	sel := workflow.NewSelector(ctx)
	var failed error
	inFlight := 0
	reap := func() {
		sel.Select(ctx)
		inFlight--
	}
	for i := 0; i < in.N; i++ {
		if inFlight >= in.InFlight {
			reap()
		}
		var f workflow.Future
		if in.Local {
			f = workflow.ExecuteLocalActivity(ctx, Noop)
		} else {
			f = workflow.ExecuteActivity(ctx, "FloorNoop")
		}
		inFlight++
		sel.AddFuture(f, func(f workflow.Future) {
			if err := f.Get(ctx, nil); err != nil && failed == nil {
				failed = err
			}
		})
	}
	for inFlight > 0 {
		reap()
	}
	return failed
}

// Workflows starts n OneActivity workflows, concurrency at a time, and
// returns how many finished per second.
func Workflows(ctx context.Context, c client.Client, queue string, n, concurrency int) (float64, error) {
	prefix := fmt.Sprintf("floor-%d", time.Now().UnixNano())
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			run, err := c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("%s-%d", prefix, i), TaskQueue: queue,
			}, "FloorOneActivity")
			if err != nil {
				return err
			}
			return run.Get(gctx, nil)
		})
	}
	if err := g.Wait(); err != nil {
		return 0, fmt.Errorf("floor workflows: %w", err)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// Activities runs one FanOut of n activities, inFlight at a time, and
// returns activities per second.
func Activities(ctx context.Context, c client.Client, queue string, n, inFlight int, local bool) (float64, error) {
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("floor-fanout-%d", time.Now().UnixNano()), TaskQueue: queue,
	}, "FloorFanOut", FanOutInput{N: n, InFlight: inFlight, Local: local})
	if err != nil {
		return 0, err
	}
	if err := run.Get(ctx, nil); err != nil {
		return 0, fmt.Errorf("floor fan-out: %w", err)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// Phase is one floor measurement: its rate, and the CPU each unit of work
// cost each process group (milliseconds of CPU per unit).
type Phase struct {
	Name    string
	Units   int
	Unit    string // "workflows", "activities"
	Seconds float64
	Rate    float64
	CPUms   map[string]float64
}

// Sizes says how much work each floor phase does.
type Sizes struct {
	Workflows, Activities, Local, InFlight int
}

// Meter counts the CPU of process groups over a phase.
type Meter interface {
	Mark()
	Since() map[string]float64 // cores busy on average since Mark
}

// Run measures (a) Workflows, (b) a fan-out of Activities and (c) of Local
// activities, InFlight at a time, on queue (a worker with Register on it
// must poll it).
func Run(ctx context.Context, c client.Client, queue string, s Sizes, m Meter) ([]Phase, error) {
	var out []Phase
	measure := func(name, unit string, n int, fn func() (float64, error)) error {
		if n <= 0 {
			return nil
		}
		m.Mark()
		start := time.Now()
		rate, err := fn()
		if err != nil {
			return err
		}
		secs := time.Since(start).Seconds()
		p := Phase{Name: name, Units: n, Unit: unit, Seconds: secs, Rate: rate, CPUms: map[string]float64{}}
		for k, cores := range m.Since() {
			p.CPUms[k] = cores * secs * 1000 / float64(n)
		}
		out = append(out, p)
		return nil
	}
	if err := measure("(a) workflows of one no-op activity", "workflows", s.Workflows, func() (float64, error) {
		return Workflows(ctx, c, queue, s.Workflows, s.InFlight)
	}); err != nil {
		return nil, err
	}
	if err := measure(fmt.Sprintf("(b) one workflow fanning out no-op activities, %d in flight", s.InFlight), "activities", s.Activities, func() (float64, error) {
		return Activities(ctx, c, queue, s.Activities, s.InFlight, false)
	}); err != nil {
		return nil, err
	}
	if err := measure(fmt.Sprintf("(c) the same with local activities, %d in flight", s.InFlight), "local activities", s.Local, func() (float64, error) {
		return Activities(ctx, c, queue, s.Local, s.InFlight, true)
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// NewMeter counts the Temporal server's CPU, this process's (worker and
// client) and the machine's.
func NewMeter() *rig.CPUMeter {
	groups := map[string][]int{"worker and client": {os.Getpid()}}
	for name, pid := range rig.ServicePIDs() {
		groups[name] = []int{pid}
	}
	return rig.NewCPUMeter(groups)
}

// Print writes the phases as a table.
func Print(phases []Phase) {
	fmt.Printf("%-66s %8s %8s %12s  %s\n", "floor", "units", "seconds", "per second", "CPU ms per unit")
	for _, p := range phases {
		var cpu []string
		for k, v := range p.CPUms {
			cpu = append(cpu, fmt.Sprintf("%s %.2f", k, v))
		}
		sort.Strings(cpu)
		fmt.Printf("%-66s %8d %8.2f %12.1f  %s\n", p.Name, p.Units, p.Seconds, p.Rate, strings.Join(cpu, ", "))
	}
}

// PerUnit turns the cores each process group kept busy over seconds into
// milliseconds of CPU per unit of work (one of units), adds them to out as
// "<group> CPU per <unit>" rows, and returns them as one printable line.
func PerUnit(out *report.Doc, cpu map[string]float64, seconds float64, units int, unit string) string {
	var line []string
	for k, cores := range cpu {
		ms := cores * seconds * 1000 / float64(units)
		line = append(line, fmt.Sprintf("%s %.2f (%.2f ms per %s)", k, cores, ms, unit))
		out.Add(k+" CPU per "+unit, ms, "ms")
	}
	sort.Strings(line)
	return strings.Join(line, ", ")
}

// OwnWorker measures floor (a) with n workflows on a worker of the product's
// options, in this process, on the rig's server and a queue of its own; it
// prints the phase and returns its rate in workflows a second. The benches
// whose unit of work has a workflow of its own print theirs against it.
func OwnWorker(ctx context.Context, r *rig.Rig, n int) (float64, error) {
	c, err := rhtemporal.Dial(ctx, r.Cfg.Temporal, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	q := r.Queue + "-floor"
	w := worker.New(c, q, app.WorkerOptions(r.Cfg.Worker))
	Register(w)
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	phases, err := Run(ctx, c, q, Sizes{Workflows: n, InFlight: 64}, NewMeter())
	if err != nil {
		return 0, err
	}
	Print(phases)
	return phases[0].Rate, nil
}
