package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/bench/internal/synth"
	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// deliveryTimeout is the worker's delivery.timeout here: short, so slow and
// hanging receivers cost seconds, not the default's 5 s each.
const deliveryTimeout = 2 * time.Second

// idleAfterDrain is how long the worker is left idle after the drain before
// its goroutines are counted: long enough for the rules' 2 s ticks to find
// nothing and end, and for idle connections to close.
const idleAfterDrain = 6 * time.Second

// hook is one webhook whose outcomes are counted: a rule's webhook, or
// the run-completion webhooks (rule = the nil UUID, webhooks = 1).
type hook struct {
	name     string
	rule     uuid.UUID
	webhooks int
}

// result is what a soak saw.
type result struct {
	o        options
	traces   int
	runs     int
	runHooks int // run-completion webhooks asked for
	kills    int
	// chRestarts is 1 once ClickHouse was restarted, down for chDown.
	chRestarts int
	chDown     time.Duration
	// retried counts API answers of 5xx or 425 that the load sent again.
	retried atomic.Int64
	took    time.Duration
	// setup is the time before the load (services, builds, rules, worker
	// and server up); drain the time after it until every outcome is in.
	setup, drain time.Duration
	drained      bool
	ledgers      []ledger
	dups         map[string]int
	dupRun       map[string]uuid.UUID
	answers      map[behaviour]int // the faulty rule receiver's
	// runAnswers are the run-completion receiver's.
	runAnswers map[behaviour]int
	samples    []sample
	// idle is the worker's goroutines idleAfterDrain after the drain, and
	// before theirs before the load, once warm.
	idle, before int
	// cpuFirst is the cores each process kept busy in the first third.
	cpuFirst map[string]float64
	// profiles are the worker's goroutines at its peak in the first and
	// last thirds of the load, and idle once the drain is done.
	profiles map[string]*goroutineProfile
	alone    []time.Duration // fast receiver, its rule's only webhook
	// aloneBy is the fast receiver's latencies over the whole load, by the
	// tenth of the load its run was answered in.
	aloneBy  [10][]time.Duration
	withHang []time.Duration // fast receiver, its rule's other webhook hangs
}

// ledger is matched against outcomes for one hook.
type ledger struct {
	hook                       hook
	matched                    int // runs matched (or asked for a webhook) times webhooks
	delivered, failed, skipped int
	otherOutcomes              int
}

func (l ledger) balanced() bool { return l.matched == l.delivered+l.failed+l.skipped }

// sample is the worker's memory and goroutines at one moment.
type sample struct {
	at         time.Duration // since the load started
	age        time.Duration // since this worker started
	rssKB      uint64
	goroutines int
	busy       float64 // the machine's busy CPU seconds so far
}

func run(ctx context.Context, o options) (*result, error) {
	began := time.Now()
	// A ClickHouse of the soak's own, which it may restart; the rig and the
	// processes it starts read its address from the environment.
	var ch *testenv.CHServer
	if o.restartCH {
		dir, err := os.MkdirTemp("", "runhook-soak-clickhouse-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if ch, err = testenv.NewCHServer(".", dir); err != nil {
			return nil, err
		}
		if err := ch.Start(); err != nil {
			return nil, err
		}
		defer func() { _ = ch.Stop() }()
		prev, had := os.LookupEnv("RUNHOOK_CLICKHOUSE_ADDR")
		os.Setenv("RUNHOOK_CLICKHOUSE_ADDR", ch.Addr())
		defer func() {
			if had {
				os.Setenv("RUNHOOK_CLICKHOUSE_ADDR", prev)
			} else {
				os.Unsetenv("RUNHOOK_CLICKHOUSE_ADDR")
			}
		}()
	}
	r, err := rig.New(ctx, "soak")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	workerBin, err := rig.Build(ctx, r.Dir, "worker")
	if err != nil {
		return nil, err
	}
	serverBin, err := rig.Build(ctx, r.Dir, "server")
	if err != nil {
		return nil, err
	}

	// Receivers: the fault mix, a fast one alone, a fast one beside a
	// hanging one, and a fast one behind the feedback gate.
	slow := deliveryTimeout + time.Second
	faulty := newReceiver(map[behaviour]int{answerOK: o.mix["ok"], answer5xx: o.mix["5xx"], answerSlow: o.mix["slow"], answerReset: o.mix["reset"]}, slow, 1)
	alone := newReceiver(map[behaviour]int{answerOK: 1}, slow, 2)
	beside := newReceiver(map[behaviour]int{answerOK: 1}, slow, 3)
	hang := newReceiver(map[behaviour]int{answerHang: 1}, slow, 4)
	gated := newReceiver(map[behaviour]int{answerOK: 1}, slow, 5)
	runHook := newReceiver(map[behaviour]int{answerOK: o.mix["ok"], answer5xx: o.mix["5xx"], answerSlow: o.mix["slow"], answerReset: o.mix["reset"]}, slow, 6)
	for _, rc := range []*receiver{faulty, alone, beside, hang, gated, runHook} {
		defer rc.Close()
	}
	refused, err := rig.FreeAddr() // nothing listens there
	if err != nil {
		return nil, err
	}

	project := "soak-" + uuid.NewString()
	ids := map[string]uuid.UUID{}
	for _, n := range []string{"plain-faulty", "fast-alone", "fast-beside-hang", "gated"} {
		ids[n] = uuid.New()
	}
	pid := runs.ProjectID(project)
	rule := func(name, extra string, urls ...string) string {
		s := fmt.Sprintf("  - name: %s\n    id: %s\n    project: %s\n    filter: 'eq(is_root, true)'\n    interval: 2s\n%s    webhooks:\n", name, ids[name], pid, extra)
		for _, u := range urls {
			s += "      - url: " + u + "\n"
		}
		return s
	}
	yaml := "rules:\n" +
		// One run a POST, so that the mix meets the rule path as often as the
		// run-completion one.
		rule("plain-faulty", "    max_runs_per_delivery: 1\n", faulty.URL(), "http://"+refused+"/refused") +
		rule("fast-alone", "", alone.URL()) +
		rule("fast-beside-hang", "", beside.URL(), hang.URL()) +
		rule("gated", "    feedback: {require: [usefulness], wait: 4s, on_timeout: skip}\n", gated.URL())
	if _, err := r.Apply(ctx, yaml, 4); err != nil {
		return nil, fmt.Errorf("apply rules: %w", err)
	}
	hooks := []hook{{"plain-faulty", ids["plain-faulty"], 2}, {"fast-alone", ids["fast-alone"], 1},
		{"fast-beside-hang", ids["fast-beside-hang"], 2}, {"gated", ids["gated"], 1}, {"run-completion", rulelog.RunWebhookRuleID(), 1}}

	// The worker, with its metrics on a port we know, restarted after kills.
	metricsAddr, err := rig.FreeAddr()
	if err != nil {
		return nil, err
	}
	wenv := []string{"RUNHOOK_METRICS_ADDR=" + metricsAddr, "RUNHOOK_DELIVERY_TIMEOUT=" + deliveryTimeout.String(),
		"RUNHOOK_DELIVERY_PAUSE_AFTER_FAILURES=0", "RUNHOOK_DELIVERY_INITIAL_INTERVAL=500ms", "RUNHOOK_METRICS_PROFILES=true"}
	startWorker := func(i int) (*rig.Worker, error) {
		return r.Start(workerBin, filepath.Join(r.Dir, fmt.Sprintf("worker-%d.log", i)), wenv...)
	}
	wk, err := startWorker(0)
	if err != nil {
		return nil, err
	}
	var wkMu sync.Mutex
	wkStarted := time.Now()
	defer func() { wkMu.Lock(); wk.Stop(); wkMu.Unlock() }()
	if err := r.WaitPolling(ctx, []*rig.Worker{wk}, time.Minute); err != nil {
		return nil, err
	}

	addr, err := rig.FreeAddr()
	if err != nil {
		return nil, err
	}
	key := "soak-" + uuid.NewString()
	srv, err := r.Start(serverBin, filepath.Join(r.Dir, "server.log"),
		"RUNHOOK_API_ADDR="+addr, "RUNHOOK_API_PUBLIC_URL=http://"+addr, "RUNHOOK_API_KEY_HASHES="+api.HashKey(key))
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	base := "http://" + addr
	if err := rig.WaitServer(ctx, base, srv); err != nil {
		return nil, err
	}
	res := &result{o: o, setup: time.Since(began), profiles: map[string]*goroutineProfile{}}
	client := &http.Client{Timeout: time.Minute}
	// post retries as the SDKs do (a 5xx or no answer, with backoff), for as
	// long as a ClickHouse restart can last.
	post := func(path string, body any) error {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		var last error
		for wait, end := 250*time.Millisecond, time.Now().Add(2*time.Minute); time.Now().Before(end); wait = min(2*wait, 2*time.Second) {
			if last != nil {
				time.Sleep(wait)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", key)
			resp, err := client.Do(req)
			if err != nil {
				last = err
				continue
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooEarly:
				last = fmt.Errorf("POST %s: %s: %s", path, resp.Status, msg)
				res.retried.Add(1)
			case resp.StatusCode >= 300:
				return fmt.Errorf("POST %s: %s: %s", path, resp.Status, msg)
			default:
				return nil
			}
		}
		return last
	}

	// The worker warm and idle before the load: the level it should come
	// back to once the load has drained.
	time.Sleep(time.Until(wkStarted.Add(warmup)))
	if res.before, err = goroutines(metricsAddr); err != nil {
		return nil, err
	}
	if res.profiles["before"], err = readGoroutineProfile(metricsAddr); err != nil {
		return nil, err
	}

	// What each process costs in the first third (no kills, no restart):
	// what bounds the rate the machine can take.
	pids := rig.ServicePIDs()
	if ch != nil {
		pids["clickhouse"] = ch.Pid()
	}
	meter := rig.NewCPUMeter(map[string][]int{"ClickHouse": {pids["clickhouse"]}, "Temporal": {pids["temporal"]},
		"worker": {wk.Pid()}, "server": {srv.Pid()}, "soak (load, receivers)": {os.Getpid()}})
	meter.Mark()

	start := time.Now()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var bg sync.WaitGroup
	errs := make(chan error, 4)

	// ClickHouse restarted once, half-way: after the quiet first third, and
	// early enough that the worker is sampled, warm, in the last third. A
	// kill due while ClickHouse is down waits for it (one restart at a
	// time: a worker started then waits for ClickHouse before it serves).
	var chRestarting atomic.Bool
	if ch != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			select {
			case <-loadCtx.Done():
				return
			case <-time.After(time.Until(start.Add(o.duration / 2))):
			}
			chRestarting.Store(true)
			defer chRestarting.Store(false)
			down := time.Now()
			if err := ch.Stop(); err != nil {
				errs <- err
				return
			}
			time.Sleep(2 * time.Second)
			if err := ch.Start(); err != nil {
				errs <- err
				return
			}
			res.chDown = time.Since(down)
			res.chRestarts++
		}()
	}

	bg.Add(1)
	go func() {
		defer bg.Done()
		select {
		case <-loadCtx.Done():
		case <-time.After(time.Until(start.Add(o.duration / 3))):
			res.cpuFirst = meter.Since()
		}
	}()

	// The worker's memory and goroutines every 2 s; the kills on their period.
	var smu sync.Mutex
	bg.Add(2)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-time.After(2 * time.Second):
			}
			wkMu.Lock()
			p, age := wk.Pid(), time.Since(wkStarted)
			wkMu.Unlock()
			rss, _ := rig.Status(p)
			g, err := goroutines(metricsAddr)
			if err != nil || rss == 0 {
				continue // between a kill and the next worker's metrics
			}
			at := time.Since(start)
			smu.Lock()
			busy, _ := rig.MachineCPU()
			res.samples = append(res.samples, sample{at: at, age: age, rssKB: rss, goroutines: g, busy: busy})
			smu.Unlock()
			// The profile at each third's peak says what the goroutines wait on.
			third := ""
			switch {
			case age < warmup:
			case at <= o.duration/3:
				third = "first"
			case at >= o.duration-o.duration/3:
				third = "last"
			}
			if third != "" && (res.profiles[third] == nil || g > res.profiles[third].total) {
				if p, err := readGoroutineProfile(metricsAddr); err == nil {
					res.profiles[third] = p
				}
			}
		}
	}()
	go func() {
		defer bg.Done()
		if o.killEvery <= 0 {
			return
		}
		// The first third is quiet: the hanging receiver's effect is
		// measured there, undisturbed by kills.
		for i := 1; ; i++ {
			at := o.duration/3 + time.Duration(i-1)*o.killEvery
			if at > o.duration-5*time.Second {
				return
			}
			select {
			case <-loadCtx.Done():
				return
			case <-time.After(time.Until(start.Add(at))):
			}
			for chRestarting.Load() && loadCtx.Err() == nil {
				time.Sleep(200 * time.Millisecond)
			}
			wkMu.Lock()
			wk.Kill()
			next, err := startWorker(i)
			if err != nil {
				wkMu.Unlock()
				errs <- err
				return
			}
			wk, wkStarted = next, time.Now()
			res.kills++
			wkMu.Unlock()
		}
	}()

	// The load: one trace a tick, its root with a run-completion webhook
	// (some at a refused port), feedback on a share of the roots.
	answered := map[uuid.UUID]time.Time{}
	var amu sync.Mutex
	rng := rand.New(rand.NewPCG(7, 8))
	every := time.Duration(float64(time.Second) * synth.TraceSize / o.rate)
	refusedShare := float64(o.mix["refused"]) / float64(max(1, o.mix["ok"]+o.mix["5xx"]+o.mix["slow"]+o.mix["reset"]+o.mix["refused"]))
	var posts sync.WaitGroup
	for i := 0; time.Since(start) < o.duration; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		trace := synth.Generate(synth.TraceSize, uint64(i), time.Now().Add(-3*time.Second), project)
		type withHook struct {
			synth.Run
			Webhook string `json:"webhook,omitempty"`
		}
		body := make([]withHook, len(trace))
		for j, run := range trace {
			body[j].Run = run
		}
		hookURL := fmt.Sprintf("%s?run=%d", runHook.URL(), i)
		if rng.Float64() < refusedShare {
			hookURL = fmt.Sprintf("http://%s/refused?run=%d", refused, i)
		}
		body[0].Webhook = hookURL
		root := trace[0].ID
		scored := rng.Float64() < o.feedback
		posts.Add(1)
		go func() {
			defer posts.Done()
			if err := post("/runs/batch", map[string]any{"post": body}); err != nil {
				errs <- err
				return
			}
			amu.Lock()
			for _, run := range trace {
				answered[run.ID] = time.Now()
			}
			res.traces++
			res.runs += len(trace)
			res.runHooks++
			amu.Unlock()
			if scored {
				if err := post("/feedback", map[string]any{"id": uuid.New(), "run_id": root, "key": "usefulness", "score": 1}); err != nil {
					errs <- err
				}
			}
		}()
		select {
		case err := <-errs:
			return nil, err
		case <-srv.Exited():
			return nil, fmt.Errorf("server exited: %v", srv.Err())
		default:
		}
	}
	posts.Wait()
	res.took = time.Since(start)
	stopLoad()
	bg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}

	drainStart := time.Now()
	defer func() { res.drain = time.Since(drainStart) }()
	// Drain: every matched run gets its outcomes (retries end after 3
	// attempts, gates at 4 s, killed activities at their timeout).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if res.ledgers, err = ledgers(ctx, r, hooks, res.runHooks); err != nil {
			return nil, err
		}
		all := true
		for _, l := range res.ledgers {
			all = all && l.balanced() && l.matched > 0
		}
		if all {
			res.drained = true
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}

	// The worker idle: every outcome is in, and the last ticks have found
	// nothing new. What it still holds beyond its pollers would be a leak.
	time.Sleep(idleAfterDrain)
	if g, err := goroutines(metricsAddr); err == nil {
		res.idle = g
		if p, err := readGoroutineProfile(metricsAddr); err == nil {
			res.profiles["idle"] = p
		}
	}
	if o.profiles != "" {
		if err := saveProfiles(o.profiles, res.profiles); err != nil {
			return nil, err
		}
	}

	res.dups, res.dupRun = map[string]int{}, map[string]uuid.UUID{}
	for name, rc := range map[string]*receiver{"faulty": faulty, "fast-alone": alone, "fast-beside-hang": beside, "hang": hang, "gated": gated, "run-completion": runHook} {
		res.dups[name], res.dupRun[name] = rc.duplicates()
	}
	res.answers = faulty.answered()
	quiet := map[uuid.UUID]time.Time{}
	for id, at := range answered {
		if at.Before(start.Add(o.duration/3 - 5*time.Second)) {
			quiet[id] = at
		}
	}
	res.alone, res.withHang = latencies(alone, quiet), latencies(beside, quiet)
	for id, at := range alone.arrivals() {
		if sent, ok := answered[id]; ok {
			i := min(9, int(10*sent.Sub(start)/res.took))
			res.aloneBy[i] = append(res.aloneBy[i], at.Sub(sent))
		}
	}
	res.runAnswers = runHook.answered()
	return res, nil
}

// latencies is, for each run the receiver accepted, the time from the API's
// answer to its arrival.
func latencies(rc *receiver, answered map[uuid.UUID]time.Time) []time.Duration {
	var out []time.Duration
	for id, at := range rc.arrivals() {
		if sent, ok := answered[id]; ok {
			out = append(out, at.Sub(sent))
		}
	}
	slices.Sort(out)
	return out
}

// ledgers reads, per hook, the runs matched (rule_events) times the
// webhooks, and the newest outcome of each (run, webhook) pair.
func ledgers(ctx context.Context, r *rig.Rig, hooks []hook, runHooks int) ([]ledger, error) {
	var out []ledger
	for _, h := range hooks {
		l := ledger{hook: h}
		if h.rule == rulelog.RunWebhookRuleID() {
			l.matched = runHooks
		} else {
			var n uint64
			if err := r.Store.QueryRow(ctx, `SELECT uniqExact(run_id) FROM rule_events WHERE rule_id = ? AND event = ?`, h.rule, rulelog.Matched).Scan(&n); err != nil {
				return nil, err
			}
			l.matched = int(n) * h.webhooks
		}
		rows, err := r.Store.Query(ctx, `SELECT outcome, count() FROM (
    SELECT run_id, webhook_idx, argMax(outcome, at) AS outcome FROM delivery_outcomes WHERE rule_id = ? GROUP BY run_id, webhook_idx
) GROUP BY outcome`, h.rule)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var outcome string
			var n uint64
			if err := rows.Scan(&outcome, &n); err != nil {
				rows.Close()
				return nil, err
			}
			switch outcome {
			case rulelog.Delivered:
				l.delivered = int(n)
			case rulelog.Failed:
				l.failed = int(n)
			case rulelog.Skipped:
				l.skipped = int(n)
			default:
				l.otherOutcomes += int(n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// goroutines reads go_goroutines from the worker's Prometheus endpoint.
func goroutines(addr string) (int, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines at %s/metrics", addr)
}
