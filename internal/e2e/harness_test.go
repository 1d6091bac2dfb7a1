package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/cli"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/logging"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/workflows"
)

// harness is one isolated runhook: its own ClickHouse database, Temporal task
// queue, secrets key and loopback receiver, on the real servers.
type harness struct {
	t        *testing.T
	store    *clickhouse.Store
	client   client.Client
	queue    string
	environ  []string
	cfg      config.Config
	recv     *receiver
	project  uuid.UUID
	schedule schedules.Manager
	// logs, when set before startWorker, receives the worker's JSON log.
	logs *testenv.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	c, queue := testenv.Temporal(t)
	return newHarnessOn(t, c, queue, "", testenv.ClickHouse(t), "")
}

// newHarnessOn builds a harness on given servers; temporalAddr and chAddr,
// when set, are what the CLI and worker processes are told to dial.
func newHarnessOn(t *testing.T, c client.Client, queue, temporalAddr string, store *clickhouse.Store, chAddr string) *harness {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	h := &harness{t: t, store: store, client: c, queue: queue, recv: newReceiver(t), project: uuid.New()}
	h.environ = []string{
		"RUNHOOK_CLICKHOUSE_DATABASE=" + store.Database(),
		"RUNHOOK_TEMPORAL_TASK_QUEUE=" + queue,
		"RUNHOOK_SECRETS_KEY=" + base64.StdEncoding.EncodeToString(key),
		"RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8,::1/128", // the receiver is on loopback, and only loopback opens
		"RUNHOOK_DELIVERY_INITIAL_INTERVAL=200ms",
		"RUNHOOK_RULES_SETTLE_LAG=1s",
		"RUNHOOK_METRICS_ADDR=127.0.0.1:0",
		"RECEIVER_URL=" + h.recv.srv.URL,
		"PROJECT=" + h.project.String(),
	}
	passed := []string{"PATH=", "HOME="}
	if temporalAddr != "" {
		h.environ = append(h.environ, "RUNHOOK_TEMPORAL_ADDRESS="+temporalAddr)
	} else {
		passed = append(passed, "RUNHOOK_TEMPORAL_ADDRESS=")
	}
	if chAddr != "" {
		h.environ = append(h.environ, "RUNHOOK_CLICKHOUSE_ADDR="+chAddr)
	} else {
		passed = append(passed, "RUNHOOK_CLICKHOUSE_ADDR=")
	}
	for _, kv := range os.Environ() {
		for _, pass := range passed {
			if strings.HasPrefix(kv, pass) {
				h.environ = append(h.environ, kv)
			}
		}
	}
	cfg, err := config.Load(config.Options{Environ: h.environ})
	if err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	h.schedule = schedules.Manager{Client: c, TaskQueue: queue}
	// Schedules outlive the test on the shared server unless removed; this
	// runs before the database is dropped (cleanups run last-in first-out).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		all, err := store.Rules(ctx)
		if err != nil {
			t.Logf("cleanup: list rules: %v", err)
		}
		for _, r := range all {
			if err := h.schedule.Delete(ctx, r.ID); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		if err := h.schedule.DeleteRetention(ctx); err != nil { // rules apply made it
			t.Logf("cleanup: %v", err)
		}
	})
	return h
}

// startWorker runs a worker in this process; stop it with the returned func
// (also called at cleanup).
func (h *harness) startWorker() func() {
	h.t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if h.logs != nil {
		logger = logging.New(h.logs, config.Log{Level: "debug", Format: "json"})
	}
	acts, err := app.Activities(h.cfg, h.store, logger)
	if err != nil {
		h.t.Fatal(err)
	}
	acts.Schedules = h.schedule
	w := worker.New(h.client, h.queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		h.t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(w.Stop) }
	h.t.Cleanup(stop)
	return stop
}

// starter runs the CLI against this harness's config and environment.
func (h *harness) starter(args ...string) (string, error) {
	h.t.Helper()
	cmd := cli.New(strings.NewReader(""), h.environ)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// apply writes a rules file and applies it.
func (h *harness) apply(yaml string, flags ...string) (string, error) {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return h.starter(append([]string{"rules", "apply", "-f", path}, flags...)...)
}

func (h *harness) mustApply(yaml string, flags ...string) string {
	h.t.Helper()
	out, err := h.apply(yaml, flags...)
	if err != nil {
		h.t.Fatalf("rules apply: %v\n%s", err, out)
	}
	return out
}

// run is a completed run of the harness's project, changed by opts.
func (h *harness) run(opts ...func(*runs.Run)) runs.Run {
	id := uuid.New()
	start := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Microsecond)
	end := start.Add(3 * time.Second)
	r := runs.Run{ID: id, TraceID: id, SessionID: h.project, Name: "agent", RunType: "chain", Status: "success",
		IsRoot: true, StartTime: start, EndTime: &end, ModifiedAt: end, Tags: []string{}}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func (h *harness) insert(rs ...runs.Run) {
	h.t.Helper()
	if err := h.store.InsertRuns(context.Background(), rs); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) feedback(run uuid.UUID, key string, score float64) {
	h.t.Helper()
	now := time.Now()
	if err := h.store.InsertFeedback(context.Background(), []runs.Feedback{{ID: uuid.New(), RunID: run, Key: key, Score: &score,
		CreatedAt: now, ModifiedAt: now}}); err != nil {
		h.t.Fatal(err)
	}
}

func ids(rs ...runs.Run) []uuid.UUID {
	out := make([]uuid.UUID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// receiver is a loopback webhook endpoint that counts each run it is sent.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	counts map[uuid.UUID]int
	posts  int
	rules  map[string]bool
	status int // what to answer; 0 = 204
	delay  time.Duration
	// hooks holds the distinct webhook-ids each run arrived under: retries of
	// one delivery share a webhook-id, so a run sent twice for a rule shows
	// two.
	hooks map[uuid.UUID]map[string]bool
}

func (r *receiver) slow(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// distinct is how many deliveries (distinct webhook-ids) each run arrived in.
func (r *receiver) distinct() map[uuid.UUID]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[uuid.UUID]int{}
	for run, ids := range r.hooks {
		out[run] = len(ids)
	}
	return out
}

func (r *receiver) answer(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{counts: map[uuid.UUID]int{}, rules: map[string]bool{}, hooks: map[uuid.UUID]map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var p struct {
			RuleID string `json:"rule_id"`
			Runs   []struct {
				ID uuid.UUID `json:"id"`
			} `json:"runs"`
		}
		if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
			t.Errorf("receiver: bad payload: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		delay := r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		r.mu.Lock()
		r.posts++
		status := r.status
		if status == 0 {
			status = http.StatusNoContent
			r.rules[p.RuleID] = true
			for _, run := range p.Runs {
				r.counts[run.ID]++
				if r.hooks[run.ID] == nil {
					r.hooks[run.ID] = map[string]bool{}
				}
				r.hooks[run.ID][req.Header.Get("webhook-id")] = true
			}
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// postCount is how many POSTs arrived, whatever they were answered.
func (r *receiver) postCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

// got is how many times each run arrived.
func (r *receiver) got() map[uuid.UUID]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uuid.UUID]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitDelivered waits until every run in want arrived, then checks that
// each arrived exactly once and that nothing else arrived, including during
// a few more ticks.
func (h *harness) waitDelivered(want []uuid.UUID, quiet time.Duration) {
	h.t.Helper()
	waitFor(h.t, 120*time.Second, "deliveries", func() bool {
		got := h.recv.got()
		for _, id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(quiet)
	h.assertExactly(want)
}

func (h *harness) assertExactly(want []uuid.UUID) {
	h.t.Helper()
	got := h.recv.got()
	wanted := map[uuid.UUID]bool{}
	for _, id := range want {
		wanted[id] = true
		if got[id] != 1 {
			h.t.Errorf("run %s delivered %d times, want once", id, got[id])
		}
	}
	for id, n := range got {
		if !wanted[id] {
			h.t.Errorf("run %s delivered %d times, want never", id, n)
		}
	}
}
