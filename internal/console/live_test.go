package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
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
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/cli"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/logging"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/signing"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/workflows"
)

// live is a console on the real ClickHouse and Temporal servers with a
// worker in this process, and one rule that has delivered a run after a
// failed attempt. The rule's webhook carries every kind of secret, so the
// pages can be searched for them.
type live struct {
	store   *clickhouse.Store
	rule    clickhouse.StoredRule
	run     uuid.UUID
	url     string // the console's, under httptest on loopback
	log     *testenv.Buffer
	secrets []string
}

// flaky answers the first POST 500 and the others 204.
type flaky struct {
	mu    sync.Mutex
	posts int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.posts++
	n := f.posts
	f.mu.Unlock()
	if n == 1 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func newLive(t *testing.T) *live {
	t.Helper()
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)
	recv := httptest.NewServer(&flaky{})
	t.Cleanup(recv.Close)

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	signingSecret, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	const querySecret, headerSecret = "q-secret-c0n501e", "h-secret-b4d9e1"
	project := uuid.New()
	environ := []string{
		"RUNHOOK_CLICKHOUSE_DATABASE=" + store.Database(),
		"RUNHOOK_TEMPORAL_TASK_QUEUE=" + queue,
		"RUNHOOK_SECRETS_KEY=" + base64.StdEncoding.EncodeToString(key),
		"RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8,::1/128",
		"RUNHOOK_DELIVERY_INITIAL_INTERVAL=200ms",
		"RUNHOOK_RULES_SETTLE_LAG=1s",
		"HEADER_SECRET=" + headerSecret,
		"SIGNING_SECRET=" + signingSecret,
	}
	for _, kv := range os.Environ() {
		for _, pass := range []string{"PATH=", "HOME=", "RUNHOOK_TEMPORAL_ADDRESS=", "RUNHOOK_CLICKHOUSE_ADDR="} {
			if strings.HasPrefix(kv, pass) {
				environ = append(environ, kv)
			}
		}
	}
	cfg, err := config.Load(config.Options{Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	sched := schedules.Manager{Client: c, TaskQueue: queue}
	t.Cleanup(func() { // before the database is dropped: cleanups run last-in first-out
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		all, _ := store.Rules(ctx)
		for _, r := range all {
			if err := sched.Delete(ctx, r.ID); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		if err := sched.DeleteRetention(ctx); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})

	acts, err := app.Activities(cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	acts.Schedules = sched
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	yaml := `rules:
  - name: console-demo
    id: ` + uuid.NewString() + `
    project: ` + project.String() + `
    interval: 1s
    webhooks:
      - url: ` + recv.URL + `/hook?secret=` + querySecret + `
        headers: {X-Api-Key: "${HEADER_SECRET}"}
        signing_secret: ${SIGNING_SECRET}
`
	if err := os.WriteFile(rulesFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := cli.New(strings.NewReader(""), environ)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"rules", "apply", "-f", rulesFile})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("rules apply: %v\n%s", err, out.String())
	}
	ctx := context.Background()
	all, err := store.Rules(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("rules after apply: %v %v", all, err)
	}

	id := uuid.New()
	start := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Microsecond)
	end := start.Add(3 * time.Second)
	if err := store.InsertRuns(ctx, []runs.Run{{ID: id, TraceID: id, SessionID: project, Name: "agent", RunType: "chain",
		Status: "success", IsRoot: true, StartTime: start, EndTime: &end, ModifiedAt: end, Tags: []string{}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		o, err := store.Outcomes(ctx, all[0].ID, []uuid.UUID{id})
		if err != nil {
			t.Fatal(err)
		}
		if len(o) == 1 && o[0].Outcome == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s not delivered in 2 minutes (outcomes %+v)", id, o)
		}
		time.Sleep(200 * time.Millisecond)
	}

	l := &live{store: store, rule: all[0], run: id, log: &testenv.Buffer{},
		secrets: []string{querySecret, headerSecret, strings.TrimPrefix(signingSecret, "whsec_")}}
	cons, err := app.Console(cfg, store, c, logging.New(l.log, config.Log{Level: "debug", Format: "json"}))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", cons.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	l.url = srv.URL
	return l
}

// checkNoSecret fails the test if text holds a plaintext secret.
func (l *live) checkNoSecret(t *testing.T, where string, text []byte) {
	t.Helper()
	for _, s := range l.secrets {
		if bytes.Contains(text, []byte(s)) {
			t.Errorf("plaintext secret %.8s… found in %s", s, where)
		}
	}
}
