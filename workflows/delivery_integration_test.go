package workflows_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/signing"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/workflows"
)

// receiver is a webhook endpoint on loopback that counts what reaches it.
type receiver struct {
	mu       sync.Mutex
	arrivals map[string][]time.Time // by path
	requests map[string][]*capture
	big      atomic.Int64
	srv      *httptest.Server
}

type capture struct {
	header http.Header
	query  string
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{arrivals: map[string][]time.Time{}, requests: map[string][]*capture{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrivals[path])
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.arrivals[req.URL.Path] = append(r.arrivals[req.URL.Path], time.Now())
	n := len(r.arrivals[req.URL.Path])
	r.requests[req.URL.Path] = append(r.requests[req.URL.Path], &capture{req.Header.Clone(), req.URL.RawQuery, body})
	r.mu.Unlock()
	switch req.URL.Path {
	case "/ok":
		w.WriteHeader(200)
	case "/slow":
		select { // 6 s: past the 5 s delivery timeout
		case <-time.After(6 * time.Second):
		case <-req.Context().Done():
		}
		w.WriteHeader(200)
	case "/500":
		w.WriteHeader(500)
	case "/503-then-200":
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	case "/404":
		w.WriteHeader(404)
	case "/301":
		http.Redirect(w, req, "/ok", http.StatusMovedPermanently)
	case "/big":
		w.WriteHeader(200)
		chunk := make([]byte, 1<<20)
		for i := 0; i < 100; i++ {
			k, err := w.Write(chunk)
			r.big.Add(int64(k))
			if err != nil {
				return
			}
		}
	case "/503-retry-after-then-200":
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	case "/410":
		w.WriteHeader(410)
	case "/reset-then-200":
		if n == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		}
		w.WriteHeader(200)
	}
}

type harness struct {
	store *clickhouse.Store
	c     client.Client
	queue string
	box   *secrets.Box
	runs  []uuid.UUID
	// w is the worker, and acts its activities, so a test can replace it.
	w    worker.Worker
	acts *activities.Activities
}

func newHarness(t *testing.T, tune ...func(*activities.Activities)) *harness {
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, _ := secrets.New(key)
	acts := &activities.Activities{
		Store:   store,
		Secrets: box,
		Sender: delivery.NewSender(delivery.SenderOptions{Timeout: 5 * time.Second,
			Guard: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}),
	}
	acts.MaxBodyBytes, acts.MaxRunsPerDelivery = 5<<20, 100
	for _, f := range tune {
		f(acts)
	}
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(workflows.Delivery)
	w.RegisterWorkflow(workflows.DeliverRuns)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	line, err := os.ReadFile("../internal/runs/testdata/seed_run.json")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := runs.DecodeRun(line, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InsertRuns(context.Background(), []runs.Run{seed}); err != nil {
		t.Fatal(err)
	}
	return &harness{store: store, c: c, queue: queue, box: box, runs: []uuid.UUID{seed.ID}, w: w, acts: acts}
}

// deliver stores a webhook target for a fresh rule and runs one delivery to it.
func (h *harness) deliver(t *testing.T, target delivery.Target) (workflows.DeliveryResult, uuid.UUID, string) {
	t.Helper()
	ctx := context.Background()
	rule := uuid.New()
	w, err := delivery.Seal(h.box, delivery.URLPolicy{}, rule, 0, target, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.PutWebhooks(ctx, []clickhouse.Webhook{w}); err != nil {
		t.Fatal(err)
	}
	id := "delivery-" + rule.String()
	run, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: h.queue}, workflows.Delivery,
		workflows.DeliveryInput{DeliveryID: id, Batch: activities.Batch{RuleID: rule, WindowStart: time.Now().Add(-time.Minute),
			WindowEnd: time.Now(), RunIDs: h.runs}, HTTPTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.DeliveryResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	return res, rule, id
}

func TestDeliveryFaultMatrix(t *testing.T) {
	h := newHarness(t)
	rcv := newReceiver(t)
	closed := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		return addr
	}()

	for _, tc := range []struct {
		name      string
		url       string
		path      string // receiver path whose arrivals are counted ("" = not reachable)
		attempts  int
		delivered bool
		class     delivery.Class
	}{
		{"closed port: 3 attempts then failed", "http://" + closed + "/x", "", 3, false, delivery.ConnectError},
		{"reply after 6s: 1 attempt, failed", rcv.srv.URL + "/slow", "/slow", 1, false, delivery.Timeout},
		{"500: 3 attempts", rcv.srv.URL + "/500", "/500", 3, false, delivery.ServerError},
		{"503 then 200: delivered on attempt 2", rcv.srv.URL + "/503-then-200", "/503-then-200", 2, true, delivery.Delivered},
		{"404: 1 attempt", rcv.srv.URL + "/404", "/404", 1, false, delivery.ClientError},
		{"301: not followed, 1 attempt", rcv.srv.URL + "/301", "/301", 1, false, delivery.Redirect},
		{"200 with a 100 MB body: delivered, body not read", rcv.srv.URL + "/big", "/big", 1, true, delivery.Delivered},
		{"connection reset: retried", rcv.srv.URL + "/reset-then-200", "/reset-then-200", 2, true, delivery.Delivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, _, id := h.deliver(t, delivery.Target{URL: tc.url + "?secret=fault-matrix-secret"})
			if res.Delivered != tc.delivered || res.Class != string(tc.class) {
				t.Errorf("result %+v, want delivered=%v class=%s", res, tc.delivered, tc.class)
			}
			if tc.path != "" {
				if got := rcv.count(tc.path); got != tc.attempts {
					t.Errorf("receiver saw %d attempts, want %d", got, tc.attempts)
				}
			}
			attempts, err := h.store.Attempts(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if len(attempts) != tc.attempts {
				t.Errorf("%d attempts recorded, want %d", len(attempts), tc.attempts)
			}
			for _, a := range attempts {
				if strings.Contains(a.URLRedacted+a.Error, "fault-matrix-secret") {
					t.Errorf("attempt record shows the secret: %+v", a)
				}
			}
		})
	}
	t.Run("checks after the matrix", func(t *testing.T) {
		t.Parallel()
		// Retries of the 500 wait longer each time (exponential backoff).
		for deadline := time.Now().Add(30 * time.Second); rcv.count("/500") < 3 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
		}
		rcv.mu.Lock()
		at := rcv.arrivals["/500"]
		rcv.mu.Unlock()
		if len(at) != 3 {
			t.Fatalf("500 receiver saw %d attempts, want 3", len(at))
		}
		if !(at[2].Sub(at[1]) > at[1].Sub(at[0])) {
			t.Errorf("gaps %s then %s: not growing", at[1].Sub(at[0]), at[2].Sub(at[1]))
		}
		// webhook-id is stable across the retries of one delivery.
		for deadline := time.Now().Add(30 * time.Second); rcv.count("/503-then-200") < 2 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
		}
		rcv.mu.Lock()
		reqs := rcv.requests["/503-then-200"]
		rcv.mu.Unlock()
		if len(reqs) != 2 {
			t.Fatalf("503-then-200 receiver saw %d requests, want 2", len(reqs))
		}
		if reqs[0].header.Get("webhook-id") != reqs[1].header.Get("webhook-id") {
			t.Errorf("webhook-id changed between retries: %q, %q", reqs[0].header.Get("webhook-id"), reqs[1].header.Get("webhook-id"))
		}
	})
}

func TestDeliverySecretsHeadersAndHistory(t *testing.T) {
	h := newHarness(t)
	rcv := newReceiver(t)
	// Two signing secrets, as while a receiver rotates: each verifies.
	signingSecret, _ := signing.NewSecret()
	nextSecret, _ := signing.NewSecret()
	querySecret := "38ee77617c3a489ab6e871fbeb2ec87d"
	headerValue := "Bearer header-secret-" + uuid.NewString()
	res, rule, id := h.deliver(t, delivery.Target{
		URL:            rcv.srv.URL + "/ok?secret=" + querySecret,
		Headers:        map[string]string{"Authorization": headerValue, "X-Team": "evals"},
		SigningSecrets: []string{signingSecret, nextSecret},
	})
	if !res.Delivered {
		t.Fatalf("not delivered: %+v", res)
	}
	got := rcv.requests["/ok"][0]
	if got.query != "secret="+querySecret || got.header.Get("Authorization") != headerValue || got.header.Get("X-Team") != "evals" {
		t.Errorf("arrived with query %q and headers %v", got.query, got.header)
	}
	for _, secret := range []string{signingSecret, nextSecret} {
		wh, _ := standardwebhooks.NewWebhook(secret)
		if err := wh.Verify(got.body, got.header); err != nil {
			t.Errorf("signature: %v", err)
		}
	}
	// Bytes as LangSmith writes them: app_path's "&" unescaped.
	if !bytes.Contains(got.body, []byte("?trace_id=6ab80f10-d79c-4fa2-b441-922ed6feb630&start_time=")) {
		t.Errorf("payload app_path not written as LangSmith writes it:\n%.400s", got.body)
	}
	var body map[string]any
	if err := json.Unmarshal(got.body, &body); err != nil || body["rule_id"] != rule.String() {
		t.Errorf("payload rule_id = %v (%v)", body["rule_id"], err)
	}

	secretsToFind := []string{querySecret, "header-secret-", strings.TrimPrefix(signingSecret, "whsec_"), strings.TrimPrefix(nextSecret, "whsec_")}
	dump, err := clickhousetest.DumpText(context.Background(), h.store)
	if err != nil {
		t.Fatal(err)
	}
	for table, text := range dump {
		for _, s := range secretsToFind {
			if strings.Contains(text, s) {
				t.Errorf("plaintext secret %q found in ClickHouse table %s", s[:8], table)
			}
		}
	}
	if !strings.Contains(dump["webhooks"], "secret=***") {
		t.Errorf("webhooks table lacks the redacted URL")
	}

	historyText, err := testenv.HistoryText(context.Background(), h.c, id)
	if err != nil {
		t.Fatal(err)
	}
	// The decoded payloads are searched too: the workflow input's rule id must be found.
	if !strings.Contains(historyText, rule.String()) {
		t.Fatal("history search does not see the decoded payloads")
	}
	for _, s := range secretsToFind {
		if strings.Contains(historyText, s) {
			t.Errorf("plaintext secret %q found in the workflow history", s[:8])
		}
	}
}
