// Package rig is what the rule benches share: one isolated runhook on the real
// services (a scratch ClickHouse database, a Temporal task queue of its own, a
// fresh secrets key), a loopback webhook receiver that timestamps each run it
// is sent, rules applied through rulesync, and cleanup that removes every
// schedule the bench made before the database is dropped.
package rig

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/rulesync"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/temporal"
)

// Rig is one isolated runhook.
type Rig struct {
	Cfg      config.Config
	Store    *clickhouse.Store
	Client   client.Client
	Queue    string
	Schedule schedules.Manager
	Recv     *Receiver
	// Env is the worker's configuration as RUNHOOK_* variables, for a worker
	// run as a separate process.
	Env []string
	// Dir is a scratch directory for the bench's binaries and logs, removed
	// by Close.
	Dir string

	mu      sync.Mutex
	applied []uuid.UUID
}

// New sets a rig up: scratch database (migrated), unique task queue, random
// secrets key, loopback deliveries allowed, receiver listening.
func New(ctx context.Context, name string) (*Rig, error) {
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return nil, err
	}
	suffix := time.Now().UnixNano()
	cfg.ClickHouse.Database = fmt.Sprintf("runhook_bench_%s_%d", name, suffix)
	cfg.Temporal.TaskQueue = fmt.Sprintf("bench-%s-%d", name, suffix)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.Secrets.Key = base64.StdEncoding.EncodeToString(key)
	cfg.Delivery.AllowCIDRs = []string{"127.0.0.0/8", "::1/128"} // the receiver is on loopback, and only loopback opens
	cfg.Metrics.Addr = "127.0.0.1:0"

	r := &Rig{Cfg: cfg, Queue: cfg.Temporal.TaskQueue}
	if r.Dir, err = os.MkdirTemp("", "runhook-bench-"+name+"-"); err != nil {
		return nil, err
	}
	r.Env = []string{
		"RUNHOOK_CLICKHOUSE_ADDR=" + cfg.ClickHouse.Addr,
		"RUNHOOK_CLICKHOUSE_DATABASE=" + cfg.ClickHouse.Database,
		"RUNHOOK_TEMPORAL_ADDRESS=" + cfg.Temporal.Address,
		"RUNHOOK_TEMPORAL_NAMESPACE=" + cfg.Temporal.Namespace,
		"RUNHOOK_TEMPORAL_TASK_QUEUE=" + r.Queue,
		"RUNHOOK_SECRETS_KEY=" + cfg.Secrets.Key,
		"RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8,::1/128",
		"RUNHOOK_METRICS_ADDR=127.0.0.1:0",
		"RUNHOOK_RULES_SETTLE_LAG=" + cfg.Rules.SettleLag.String(),
		"RUNHOOK_LOG_LEVEL=warn",
	}
	if r.Store, err = clickhouse.Open(ctx, cfg.ClickHouse); err != nil {
		return nil, fmt.Errorf("%w (start the services with `make services`)", err)
	}
	if _, err := r.Store.Migrate(ctx); err != nil {
		r.Close()
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if r.Client, err = temporal.Dial(ctx, cfg.Temporal, logger); err != nil {
		r.Close()
		return nil, fmt.Errorf("%w (start the services with `make services`)", err)
	}
	r.Schedule = schedules.Manager{Client: r.Client, TaskQueue: r.Queue}
	r.Recv = newReceiver()
	return r, nil
}

// Close deletes every schedule the rig applied (they would otherwise keep
// starting ticks on the shared server for a queue nobody polls), then drops
// the database. It uses its own context, so it still works after Ctrl-C.
func (r *Rig) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r.mu.Lock()
	ids := slices.Clone(r.applied)
	r.mu.Unlock()
	if r.Client != nil && len(ids) > 0 {
		failed := 0
		Parallel(len(ids), 8, func(i int) error {
			if err := r.Schedule.Delete(ctx, ids[i]); err != nil {
				r.mu.Lock()
				failed++
				r.mu.Unlock()
				fmt.Printf("cleanup: %v\n", err)
			}
			return nil
		})
		fmt.Printf("cleanup: deleted %d of %d schedules\n", len(ids)-failed, len(ids))
	}
	if r.Recv != nil {
		r.Recv.srv.Close()
	}
	if r.Client != nil {
		r.Client.Close()
	}
	if r.Store != nil {
		if err := clickhousetest.DropDatabase(ctx, r.Store); err != nil {
			fmt.Printf("cleanup: drop %s: %v\n", r.Store.Database(), err)
		}
		r.Store.Close()
	}
	if r.Dir != "" {
		os.RemoveAll(r.Dir)
	}
}

// Apply parses a rules file and applies it through rulesync, width rules at
// a time. Each rule's id is remembered for Close before its schedule exists.
func (r *Rig) Apply(ctx context.Context, yaml string, width int) ([]rules.Rule, error) {
	desired, err := rules.Parse([]byte(yaml), nil, app.URLPolicy(r.Cfg.Delivery))
	if err != nil {
		return nil, err
	}
	key, err := r.Cfg.Secrets.KeyBytes()
	if err != nil {
		return nil, err
	}
	box, err := app.Secrets(r.Cfg.Secrets)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	for _, d := range desired {
		r.applied = append(r.applied, d.ID)
	}
	r.mu.Unlock()
	s := rulesync.Syncer{Store: r.Store, Schedules: r.Schedule, Box: box, Policy: app.URLPolicy(r.Cfg.Delivery),
		FingerprintKey: rulesync.FingerprintKey(key)}
	// Plan and apply per rule, several at once: rulesync does one rule's
	// reads, inserts and schedule call in sequence, and 1,000 rules one after
	// another would take minutes of round trips.
	err = Parallel(len(desired), width, func(i int) error {
		plan, err := s.Plan(ctx, desired[i:i+1], false)
		if err != nil {
			return err
		}
		return s.Apply(ctx, plan)
	})
	return desired, err
}

// Receiver is a loopback webhook endpoint that records when each run first
// arrived and how many POSTs and run deliveries it got.
type Receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	first map[uuid.UUID]time.Time
	posts int
	runs  int
}

// PayloadRuns reads the ids of the runs a POST carries: a rule's payload
// lists its runs; a run-completion webhook is the run.
func PayloadRuns(body io.Reader) ([]uuid.UUID, error) {
	var p struct {
		ID   uuid.UUID `json:"id"`
		Runs []struct {
			ID uuid.UUID `json:"id"`
		} `json:"runs"`
	}
	if err := json.NewDecoder(body).Decode(&p); err != nil {
		return nil, err
	}
	ids := []uuid.UUID{}
	if p.ID != uuid.Nil {
		ids = append(ids, p.ID)
	}
	for _, run := range p.Runs {
		ids = append(ids, run.ID)
	}
	return ids, nil
}

// WaitServer waits (30 s at most) until the API server srv answers GET
// base/info.
func WaitServer(ctx context.Context, base string, srv *Worker) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/info"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-srv.Exited():
			return fmt.Errorf("server exited at start: %v", srv.Err())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("server did not answer at %s within 30s", base)
}

func newReceiver() *Receiver {
	r := &Receiver{first: map[uuid.UUID]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		ids, err := PayloadRuns(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.posts++
		for _, id := range ids {
			r.runs++
			if _, ok := r.first[id]; !ok {
				r.first[id] = at
			}
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

// URL is where webhooks should post.
func (r *Receiver) URL() string { return r.srv.URL + "/hook" }

// Arrivals copies the first arrival time of each run.
func (r *Receiver) Arrivals() map[uuid.UUID]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uuid.UUID]time.Time, len(r.first))
	for k, v := range r.first {
		out[k] = v
	}
	return out
}

// Counts says how many POSTs and run deliveries arrived.
func (r *Receiver) Counts() (posts, runs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts, r.runs
}

// Pct is the nearest-rank percentile p (0..1] of sorted durations.
func Pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*p+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// Parallel runs fn(0..n-1) with at most width calls at once and returns the first error.
func Parallel(n, width int, fn func(int) error) error {
	var g errgroup.Group
	g.SetLimit(max(width, 1))
	for i := 0; i < n; i++ {
		g.Go(func() error { return fn(i) })
	}
	return g.Wait()
}
