// Command rules measures many rules on one worker: it applies N rules (one
// Temporal Schedule each) at a 1-minute interval, runs one bin/worker as a
// separate process so its memory is its own, feeds a few of the projects
// runs so some rules deliver, and after the run reads every tick back from
// Temporal's visibility store to compare when it started and closed with its
// nominal (scheduled) time. It samples the worker's RSS and the CPU of the
// worker, the Temporal dev server and ClickHouse from /proc. Every schedule
// it made is deleted before it exits, Ctrl-C included.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/runhook/runhook/bench/internal/floor"
	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/schedules"
)

// filters rotate over the rules; the fed runs (root chains, 2 s, tagged
// prod) pass the first three and fail the last two.
var filters = []string{
	`eq(is_root, true)`,
	`gt(latency, "1s")`,
	`has(tags, "prod")`,
	`eq(run_type, "llm")`,
	`and(eq(status, "error"), eq(metadata_key, "env"), eq(metadata_value, "prod"))`,
}

type options struct {
	rules, projects, active int
	floorN                  int
	floorRate               float64 // floor (a), workflows/s
	interval, duration      time.Duration
	feedEvery               time.Duration
	workerBin               string
	history                 int
	out                     *report.Doc
}

func main() {
	var o options
	flag.IntVar(&o.rules, "rules", 1000, "rules to apply")
	flag.IntVar(&o.projects, "projects", 100, "projects the rules watch (rule i watches project i mod projects)")
	flag.IntVar(&o.active, "active", 10, "projects that get runs (so about active/projects of the rules deliver)")
	flag.DurationVar(&o.interval, "interval", time.Minute, "every rule's interval")
	flag.DurationVar(&o.duration, "duration", 4*time.Minute, "how long the rules run once applied")
	flag.DurationVar(&o.feedEvery, "feed-every", 10*time.Second, "a few runs go to each active project this often")
	flag.StringVar(&o.workerBin, "worker", "", "worker binary (default: build ./worker into a temporary directory)")
	flag.IntVar(&o.floorN, "floor-workflows", 300, "workflows of floor (a), measured first on the same server (0: none)")
	flag.IntVar(&o.history, "history", 300, "ticks whose history is read for the worker pickup lag (0: none)")
	engine := report.EngineFlag()
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	o.out = report.Start("rules", fmt.Sprintf("%s rules, one worker", report.Count(o.rules))+report.OnEngine(*engine), flag.CommandLine)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, o)
	if err == nil {
		err = o.out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	r, err := rig.New(ctx, "rules")
	if err != nil {
		return err
	}
	defer r.Close()
	bin, err := rig.Binary(ctx, o.workerBin, r.Dir, "worker")
	if err != nil {
		return err
	}

	// The floor first, on the same server, before the rules load it: a tick
	// is a workflow of its own, so floor (a) is what it is measured against.
	if o.floorN > 0 {
		if o.floorRate, err = floor.OwnWorker(ctx, r, o.floorN); err != nil {
			return err
		}
	}

	// The worker, as its own process.
	logPath := filepath.Join(r.Dir, "worker.log")
	wk, err := r.StartWorker(bin, logPath)
	if err != nil {
		return err
	}
	defer wk.Stop()

	mon := newMonitor(wk.Pid())
	monCtx, stopMon := context.WithCancel(context.Background())
	var monWG sync.WaitGroup
	monWG.Add(1)
	go func() { defer monWG.Done(); mon.loop(monCtx) }()
	defer func() { stopMon(); monWG.Wait() }()
	time.Sleep(3 * time.Second)
	idleRSS := mon.rssNow()

	// The rules.
	projects := make([]uuid.UUID, o.projects)
	for i := range projects {
		projects[i] = uuid.New()
	}
	var y strings.Builder
	y.WriteString("rules:\n")
	for i := 0; i < o.rules; i++ {
		fmt.Fprintf(&y, "  - name: bench-rule-%04d\n    project: %s\n    filter: '%s'\n    interval: %s\n    webhooks:\n      - url: %s\n",
			i, projects[i%o.projects], filters[i%len(filters)], o.interval, r.Recv.URL())
	}
	applyStart := time.Now()
	desired, err := r.Apply(ctx, y.String(), 8)
	if err != nil {
		return fmt.Errorf("apply rules: %w", err)
	}
	applied := time.Now()
	applyTook := applied.Sub(applyStart)
	fmt.Fprintf(os.Stderr, "applied %d rules in %.1f s; running for %s\n", len(desired), applyTook.Seconds(), o.duration)

	// Feed the active projects while the rules run.
	feedCtx, stopFeed := context.WithCancel(ctx)
	var fed int
	feedDone := make(chan error, 1)
	go func() { feedDone <- feed(feedCtx, r, projects[:min(o.active, len(projects))], o.feedEvery, &fed) }()

	mon.mark() // CPU is counted from here
	select {
	case <-ctx.Done():
	case <-time.After(o.duration):
	case <-wk.Exited():
		stopFeed()
		return fmt.Errorf("worker exited early: %v (log %s)", wk.Err(), logPath)
	}
	stopFeed()
	if err := <-feedDone; err != nil && ctx.Err() == nil {
		return fmt.Errorf("feed runs: %w", err)
	}
	cpu := mon.cpuSince()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// No new ticks from here on: pausing is a signal to each schedule, so it
	// lands even while the schedules are busy; the running ticks may finish.
	pauseStart := time.Now()
	if err := forEach(ctx, desired, func(id uuid.UUID) error { return r.Schedule.Pause(ctx, id, "bench over") }); err != nil {
		return err
	}
	pauseTook := time.Since(pauseStart)
	running := waitTicks(ctx, r, 2*time.Minute)
	// What the schedules themselves counted: ticks started, and ticks they
	// dropped for missing the catchup window or for overlapping a running
	// one. Describing is a query the schedule answers, so it waits until the
	// ticks are done.
	counts := scheduleCounts(ctx, r, desired)
	deleteStart := time.Now()
	if err := forEach(ctx, desired, func(id uuid.UUID) error { return r.Schedule.Delete(ctx, id) }); err != nil {
		return err
	}
	deleteTook := time.Since(deleteStart)
	ticks, err := listTicks(ctx, r)
	if err != nil {
		return err
	}
	pickup := pickupLags(ctx, r, ticks, o.history)
	rssMax, hwm := mon.peaks()

	printReport(o, r, reportInput{
		ticks: ticks, pickup: pickup, applied: applied, end: pauseStart, applyTook: applyTook, deleteTook: deleteTook, pauseTook: pauseTook, ruleIDs: ids(desired),
		idleRSS: idleRSS, rssMax: rssMax, hwm: hwm, cpu: cpu, fed: fed, running: running, counts: counts,
	})
	return nil
}

// feed inserts 1..3 completed root runs into each active project every
// period; they pass three of the five filters.
func feed(ctx context.Context, r *rig.Rig, active []uuid.UUID, every time.Duration, n *int) error {
	rng := rand.New(rand.NewPCG(3, 4))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var batch []runs.Run
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, p := range active {
			for k := 0; k < 1+rng.IntN(3); k++ {
				id := uuid.New()
				batch = append(batch, runs.Run{ID: id, TraceID: id, SessionID: p, Name: "agent", RunType: "chain", Status: "success",
					IsRoot: true, StartTime: now.Add(-2 * time.Second), EndTime: &now, ModifiedAt: now, Tags: []string{"prod"},
					Inputs: json.RawMessage(`{"question":"q"}`), Outputs: json.RawMessage(`{"answer":"a"}`)})
			}
		}
		if err := r.Store.InsertRuns(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		*n += len(batch)
	}
}

func ids(rs []rules.Rule) []uuid.UUID {
	out := make([]uuid.UUID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// forEach calls fn for each rule's id, 8 at a time, and returns the first error.
func forEach(ctx context.Context, desired []rules.Rule, fn func(uuid.UUID) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(desired))
	sem := make(chan struct{}, 8)
	for _, d := range desired {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(id uuid.UUID) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(id); err != nil {
				errs <- err
			}
		}(d.ID)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// waitTicks waits for the ticks still running to close and returns how many
// were still running at the end.
func waitTicks(ctx context.Context, r *rig.Rig, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		n, err := r.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType='RuleTick' AND TaskQueue='%s' AND ExecutionStatus='Running'", r.Queue),
		})
		if err != nil || n.GetCount() == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return int(n.GetCount())
		}
		time.Sleep(2 * time.Second)
	}
}

type tick struct {
	id             string
	runID          string
	nominal        time.Time
	start, closeAt time.Time
	status         enumspb.WorkflowExecutionStatus
}

// listTicks reads every RuleTick of the queue from visibility. The nominal
// time is the suffix Temporal appends to the schedule's workflow ID.
func listTicks(ctx context.Context, r *rig.Rig) ([]tick, error) {
	var out []tick
	var token []byte
	for {
		resp, err := r.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: 1000, NextPageToken: token,
			Query: fmt.Sprintf("WorkflowType='RuleTick' AND TaskQueue='%s'", r.Queue),
		})
		if err != nil {
			return nil, fmt.Errorf("list ticks: %w", err)
		}
		for _, e := range resp.Executions {
			id := e.GetExecution().GetWorkflowId()
			i := strings.LastIndex(id, "/tick-")
			if i < 0 {
				continue
			}
			nominal, err := time.Parse(time.RFC3339, id[i+len("/tick-"):])
			if err != nil {
				return nil, fmt.Errorf("tick %s: nominal time: %w", id, err)
			}
			t := tick{id: id, runID: e.GetExecution().GetRunId(), nominal: nominal, start: e.GetStartTime().AsTime(), status: e.GetStatus()}
			if e.GetCloseTime() != nil {
				t.closeAt = e.GetCloseTime().AsTime()
			}
			out = append(out, t)
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			return out, nil
		}
	}
}

// pickupLags reads the history of a sample of ticks: the first workflow
// task's start is when a worker picked the tick up, which visibility does
// not say.
func pickupLags(ctx context.Context, r *rig.Rig, ticks []tick, n int) []time.Duration {
	if n <= 0 || len(ticks) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(5, 6))
	idx := rng.Perm(len(ticks))[:min(n, len(ticks))]
	var out []time.Duration
	for _, i := range idx {
		t := ticks[i]
		it := r.Client.GetWorkflowHistory(ctx, t.id, t.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED {
				out = append(out, ev.GetEventTime().AsTime().Sub(t.nominal))
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

type reportInput struct {
	ticks                 []tick
	pickup                []time.Duration
	applied, end          time.Time
	applyTook, deleteTook time.Duration
	pauseTook             time.Duration
	idleRSS, rssMax, hwm  uint64
	cpu                   map[string]float64
	fed, running          int
	counts                counts
	ruleIDs               []uuid.UUID
}

// counts sums the schedules' own action counters.
type counts struct {
	described, actions, missedCatchup, skippedOverlap int
}

func scheduleCounts(ctx context.Context, r *rig.Rig, desired []rules.Rule) counts {
	var mu sync.Mutex
	var c counts
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, d := range desired {
		wg.Add(1)
		sem <- struct{}{}
		go func(id uuid.UUID) {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			desc, err := r.Client.ScheduleClient().GetHandle(dctx, schedules.ID(id)).Describe(dctx)
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			c.described++
			c.actions += desc.Info.NumActions
			c.missedCatchup += desc.Info.NumActionsMissedCatchupWindow
			c.skippedOverlap += desc.Info.NumActionsSkippedOverlap
		}(d.ID)
	}
	wg.Wait()
	return c
}

func printReport(o options, r *rig.Rig, in reportInput) {
	var startLag, doneLag, dur []time.Duration
	perMinute := map[time.Time]int{}
	statuses := map[string]int{}
	for _, t := range in.ticks {
		statuses[strings.TrimPrefix(t.status.String(), "WORKFLOW_EXECUTION_STATUS_")]++
		perMinute[t.nominal.Truncate(o.interval)]++
		startLag = append(startLag, t.start.Sub(t.nominal))
		if !t.closeAt.IsZero() {
			doneLag = append(doneLag, t.closeAt.Sub(t.nominal))
			dur = append(dur, t.closeAt.Sub(t.start))
		}
	}
	// Nominal times the schedules could fire at while the rules ran: each
	// rule's interval points (shifted by its offset) after the last rule was
	// applied, up to the pause.
	expected := 0
	for _, id := range in.ruleIDs {
		off := schedules.Offset(id, o.interval)
		at := in.applied.Truncate(o.interval).Add(off)
		for !at.After(in.applied) {
			at = at.Add(o.interval)
		}
		for ; !at.After(in.end); at = at.Add(o.interval) {
			expected++
		}
	}
	posts, delivered := r.Recv.Counts()

	fmt.Printf("rules benchmark: %d rules (%d projects, %d fed) at a %s interval on one bin/worker process; %d cores, %s; Temporal and ClickHouse on loopback; %s\n",
		o.rules, o.projects, o.active, o.interval, runtime.NumCPU(), runtime.Version(), o.out.Title)
	fmt.Printf("applied in %.1f s (rulesync, 8 at a time); ran %s; schedules paused in %.1f s, deleted in %.1f s; %d runs fed, %d run deliveries in %d POSTs\n",
		in.applyTook.Seconds(), in.end.Sub(in.applied).Round(time.Second), in.pauseTook.Seconds(), in.deleteTook.Seconds(), in.fed, delivered, posts)
	var minutes []time.Time
	for m := range perMinute {
		minutes = append(minutes, m)
	}
	slices.SortFunc(minutes, func(a, b time.Time) int { return a.Compare(b) })
	var per []string
	for _, m := range minutes {
		per = append(per, fmt.Sprintf("%s: %d", m.Format("15:04:05"), perMinute[m]))
	}
	fmt.Printf("ticks counted %d (%d nominal times passed between the apply and the pause); by interval of nominal time: %s; status: %v; still running 2 min after the pause: %d\n",
		len(in.ticks), expected, strings.Join(per, ", "), statuses, in.running)
	fmt.Printf("schedules' own counters (%d described after the pause): %d ticks started, %d dropped for missing the 1m catchup window, %d skipped for overlapping a running tick\n",
		in.counts.described, in.counts.actions, in.counts.missedCatchup, in.counts.skippedOverlap)
	fmt.Printf("%-48s %7s %9s %9s %9s %9s\n", "tick lag (vs nominal time)", "ticks", "p50 s", "p90 s", "p99 s", "max s")
	row := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		if len(ds) == 0 {
			fmt.Printf("%-48s %7d\n", name, 0)
			return
		}
		fmt.Printf("%-48s %7d %9.2f %9.2f %9.2f %9.2f\n", name, len(ds), rig.Pct(ds, 0.5).Seconds(), rig.Pct(ds, 0.9).Seconds(),
			rig.Pct(ds, 0.99).Seconds(), ds[len(ds)-1].Seconds())
	}
	row("start (workflow started by the scheduler)", startLag)
	row(fmt.Sprintf("pickup (first workflow task, %d sampled)", len(in.pickup)), in.pickup)
	row("completion (tick closed)", doneLag)
	row("tick duration (close - start)", dur)
	fmt.Printf("worker RSS: idle %.0f MiB before the rules, max %.0f MiB sampled each second, VmHWM %.0f MiB\n",
		mib(in.idleRSS), mib(in.rssMax), mib(in.hwm))
	var names []string
	for k := range in.cpu {
		names = append(names, k)
	}
	slices.Sort(names)
	var cpu []string
	for _, k := range names {
		cpu = append(cpu, fmt.Sprintf("%s %.2f", k, in.cpu[k]))
	}
	fmt.Printf("CPU, cores busy on average while the rules ran: %s\n", strings.Join(cpu, ", "))

	slices.Sort(doneLag)
	slices.Sort(startLag)
	o.out.Add("tick lag p99", rig.Pct(doneLag, 0.99).Seconds(), "s")
	o.out.Add("start lag p99", rig.Pct(startLag, 0.99).Seconds(), "s")
	o.out.Add("worker RSS max", mib(in.rssMax), "MiB")
	if expected > 0 {
		o.out.Add("ticks run", 100*float64(len(in.ticks))/float64(expected), "% of nominal times")
	}
	if ran := in.end.Sub(in.applied).Seconds(); o.floorRate > 0 && ran > 0 {
		rate := float64(len(in.ticks)) / ran
		fmt.Printf("ticks: %.1f/s; floor (a), workflows of one no-op activity on the same server: %.1f/s; ratio ticks / floor (a): %.2f\n",
			rate, o.floorRate, rate/o.floorRate)
		o.out.Add("ticks", rate, "/s")
		o.out.Add("floor (a)", o.floorRate, "workflows/s")
		o.out.SetRatio("ticks / floor (a)", rate/o.floorRate)
	}
	if ran := in.end.Sub(in.applied).Seconds(); len(in.ticks) > 0 && ran > 0 {
		fmt.Printf("CPU per tick (feeding and deliveries included): %s\n", floor.PerUnit(o.out, in.cpu, ran, len(in.ticks), "tick"))
	}
	o.out.Note("Tick lag is a tick's close vs its nominal time, start lag its start; %d of %d nominal ticks ran; cores busy: %s.",
		len(in.ticks), expected, strings.Join(cpu, ", "))
}

func mib(kb uint64) float64 { return float64(kb) / 1024 }

// monitor samples the worker's memory each second and, through a
// rig.CPUMeter, the CPU time of the worker, the services and the machine.
type monitor struct {
	pid    int
	mu     sync.Mutex
	rssMax uint64
	cpu    *rig.CPUMeter
}

func newMonitor(pid int) *monitor {
	groups := map[string][]int{"worker": {pid}}
	for name, p := range rig.ServicePIDs() {
		groups[name] = []int{p}
	}
	return &monitor{pid: pid, cpu: rig.NewCPUMeter(groups)}
}

func (m *monitor) loop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if rss, _ := rig.Status(m.pid); rss > 0 {
			m.mu.Lock()
			m.rssMax = max(m.rssMax, rss)
			m.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *monitor) rssNow() uint64 { rss, _ := rig.Status(m.pid); return rss }

func (m *monitor) peaks() (rss, hwm uint64) {
	_, hwm = rig.Status(m.pid)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rssMax, hwm
}

func (m *monitor) mark() { m.cpu.Mark() }

// cpuSince is the cores each process kept busy on average since mark.
func (m *monitor) cpuSince() map[string]float64 { return m.cpu.Since() }
