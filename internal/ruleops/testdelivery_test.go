package ruleops_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	iapp "github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/signing"
	"github.com/runhook/runhook/internal/testenv"
)

// receiver is a loopback webhook receiver that keeps what it was sent and
// answers with status.
type receiver struct {
	*httptest.Server
	status int
	mu     sync.Mutex
	got    []*http.Request
	bodies [][]byte
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got, r.bodies = append(r.got, req), append(r.bodies, body)
		r.mu.Unlock()
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.Close)
	return r
}

// posts is what the receiver was sent so far.
func (r *receiver) posts() ([]*http.Request, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got, r.bodies
}

// A test delivery goes to every webhook of the rule as a real one would:
// through the URL policy and the SSRF guard (opened for loopback by
// delivery.allow_cidrs), with the secret query, custom headers and
// signature, plus webhook-test: true. It is recorded as an attempt and a
// "test" event, and the rule's claims, outcomes, streak and pause stay as
// they were, even when the receiver fails.
func TestSendTestDeliveryToEveryWebhook(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	tester := loopbackTester(t, store)
	box, policy := tester.Secrets, tester.Policy
	secret, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}

	ok, down := newReceiver(t, http.StatusNoContent), newReceiver(t, http.StatusServiceUnavailable)
	spec := rules.Spec{ID: uuid.New(), Name: "tested", Project: uuid.New()}
	now := time.Now()
	for i, target := range []delivery.Target{
		{URL: ok.URL + "/hook?secret=hush-hush-1", Headers: map[string]string{"X-Api-Key": "key-hush-2"}, SigningSecrets: []string{secret}},
		{URL: down.URL + "/hook"},
	} {
		w, err := delivery.Seal(box, policy, spec.ID, uint16(i), target, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.PutWebhooks(ctx, []clickhouse.Webhook{w}); err != nil {
			t.Fatal(err)
		}
	}
	run, results, err := tester.Send(ctx, spec, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || !results[0].Sent() || results[0].StatusCode != 204 || results[1].Sent() || results[1].StatusCode != 503 {
		t.Fatalf("results %+v", results)
	}
	for _, r := range results {
		if strings.Contains(r.URL, "hush") || strings.Contains(r.Summary(), "hush") || r.Duration <= 0 {
			t.Errorf("result %+v (%s)", r, r.Summary())
		}
	}

	okGot, okBodies := ok.posts()
	downGot, _ := down.posts()
	if len(okGot) != 1 || len(downGot) != 1 {
		t.Fatalf("the receivers got %d and %d POSTs, want one each", len(okGot), len(downGot))
	}
	req, body := okGot[0], okBodies[0]
	if req.Method != http.MethodPost || req.URL.Query().Get("secret") != "hush-hush-1" || req.Header.Get("X-Api-Key") != "key-hush-2" ||
		req.Header.Get("webhook-test") != "true" || req.Header.Get("webhook-id") != results[0].MessageID ||
		req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s, headers %v", req.Method, req.URL, req.Header)
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	if err := wh.Verify(body, req.Header); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	var p struct {
		RuleID        uuid.UUID         `json:"rule_id"`
		StartTime     string            `json:"start_time"`
		EndTime       string            `json:"end_time"`
		FeedbackStats map[string]any    `json:"feedback_stats"`
		Runs          []json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.RuleID != spec.ID || p.StartTime == "" || p.FeedbackStats == nil || len(p.Runs) != 1 {
		t.Fatalf("payload %s: %v", body, err)
	}
	var r map[string]any
	_ = json.Unmarshal(p.Runs[0], &r)
	if r["id"] != run.String() || r["session_id"] != spec.Project.String() || r["name"] != "runhook test delivery" || r["status"] != "success" ||
		r["dotted_order"] == nil || r["end_time"] == nil {
		t.Errorf("example run %s", p.Runs[0])
	}
	if downGot[0].Header.Get("webhook-test") != "true" || downGot[0].Header.Get("webhook-signature") != "" {
		t.Errorf("the unsigned webhook's headers %v", downGot[0].Header)
	}

	// Recorded as a test: an attempt each and an event in the rule's log.
	for _, res := range results {
		as, err := store.Attempts(ctx, res.MessageID)
		if err != nil || len(as) != 1 || as[0].RuleID != spec.ID || as[0].WebhookIndex != res.Webhook || as[0].Class != string(res.Class) ||
			int(as[0].StatusCode) != res.StatusCode || strings.Contains(as[0].URLRedacted, "hush") {
			t.Errorf("attempts of %s: %+v, %v", res.MessageID, as, err)
		}
	}
	entries, err := store.RuleLog(ctx, spec.ID, 10)
	if err != nil || len(entries) != 2 {
		t.Fatalf("rule log %+v, %v", entries, err)
	}
	for _, e := range entries {
		if e.Event != rulelog.Test || e.RunID != run || !strings.HasPrefix(e.Where, "rule-"+spec.ID.String()+"/test-") || strings.Contains(e.Reason, "hush") {
			t.Errorf("log entry %+v", e)
		}
	}

	// And nothing else: no outcome, no streak, no claim, no pause.
	if n, err := store.ConsecutiveFailedDeliveries(ctx, spec.ID, time.Time{}, 10); err != nil || n != 0 {
		t.Errorf("failure streak %d, %v", n, err)
	}
	if _, found, err := store.LastOutcome(ctx, spec.ID); err != nil || found {
		t.Errorf("an outcome was recorded (%v)", err)
	}
	if claims, err := store.ClaimCounts(ctx, spec.ID); err != nil || len(claims) != 0 {
		t.Errorf("claims %v, %v", claims, err)
	}
	if _, found, err := store.LatestPause(ctx, spec.ID); err != nil || found {
		t.Errorf("a pause was recorded (%v)", err)
	}
}

// Without delivery.allow_cidrs the guard refuses a loopback webhook: the
// test is recorded refused and nothing is sent.
func TestSendTestDeliveryHonoursTheGuard(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	box, err := secrets.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, http.StatusOK)
	spec := rules.Spec{ID: uuid.New(), Name: "guarded", Project: uuid.New()}
	w, err := delivery.Seal(box, delivery.URLPolicy{}, spec.ID, 0, delivery.Target{URL: rcv.URL + "/hook"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{w}); err != nil {
		t.Fatal(err)
	}
	cfg := testenv.Config(t).Delivery
	cfg.AllowCIDRs, cfg.AllowPrivate = nil, false
	guard, _ := iapp.Guard(cfg)
	for _, policy := range []delivery.URLPolicy{iapp.URLPolicy(cfg), {}} { // refused by the URL policy, then by the dialer
		tester := ruleops.Tester{Store: store, Secrets: box, Policy: policy,
			Sender: delivery.NewSender(delivery.SenderOptions{Timeout: 5 * time.Second, Guard: guard})}
		_, results, err := tester.Send(ctx, spec, time.Now())
		if err != nil || len(results) != 1 || results[0].Class != delivery.Refused {
			t.Fatalf("results %+v, %v", results, err)
		}
	}
	if got, _ := rcv.posts(); len(got) != 0 {
		t.Fatalf("the guard let %d POSTs through", len(got))
	}
}

// testStore holds a rule's webhooks and what a test records, in memory.
type testStore struct {
	hooks    []clickhouse.Webhook
	attempts []clickhouse.Attempt
	events   []clickhouse.Event
	err      error // returned by the writes
}

func (s *testStore) Webhooks(context.Context, uuid.UUID) ([]clickhouse.Webhook, error) {
	return s.hooks, nil
}

func (s *testStore) RecordAttempt(_ context.Context, a clickhouse.Attempt) error {
	s.attempts = append(s.attempts, a)
	return s.err
}

func (s *testStore) RecordEvents(_ context.Context, es []clickhouse.Event) error {
	s.events = append(s.events, es...)
	return s.err
}

type noPost struct{ t *testing.T }

func (p noPost) Send(context.Context, delivery.Request) delivery.Result {
	p.t.Error("a webhook that does not open was posted to")
	return delivery.Result{}
}

// A webhook that does not open (sealed under another key) is recorded
// invalid and not posted to; a record that fails is the error.
func TestSendTestDeliveryThatDoesNotOpen(t *testing.T) {
	sealer, _ := secrets.New(make([]byte, 32))
	other, _ := secrets.New([]byte("0123456789abcdef0123456789abcdef"))
	spec := rules.Spec{ID: uuid.New(), Project: uuid.New()}
	w, err := delivery.Seal(sealer, delivery.URLPolicy{}, spec.ID, 0, delivery.Target{URL: "https://h.example/x?secret=hush-hush"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store := &testStore{hooks: []clickhouse.Webhook{w}}
	tester := ruleops.Tester{Store: store, Secrets: other, Sender: noPost{t}}
	run, results, err := tester.Send(context.Background(), spec, time.Now())
	if err != nil || len(results) != 1 || results[0].Class != delivery.Invalid || results[0].Duration <= 0 || strings.Contains(results[0].Err, "hush") {
		t.Fatalf("results %+v, %v", results, err)
	}
	if len(store.attempts) != 1 || store.attempts[0].Class != string(delivery.Invalid) ||
		len(store.events) != 1 || store.events[0].RunID != run || store.events[0].Event != rulelog.Test {
		t.Fatalf("recorded %+v and %+v", store.attempts, store.events)
	}

	store.err = errDown
	if _, _, err := tester.Send(context.Background(), spec, time.Now()); err != errDown {
		t.Fatalf("a failed record: %v", err)
	}
}

// A webhook of format langgraph is sent the example run in LangGraph's Run
// shape, as its deliveries are.
func TestSendTestDeliveryInTheWebhooksFormat(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	tester := loopbackTester(t, store)
	box, policy := tester.Secrets, tester.Policy
	rcv := newReceiver(t, http.StatusOK)
	spec := rules.Spec{ID: uuid.New(), Name: "graph", Project: uuid.New()}
	w, err := delivery.Seal(box, policy, spec.ID, 0, delivery.Target{URL: rcv.URL + "/hook", Format: payload.FormatLangGraph}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{w}); err != nil {
		t.Fatal(err)
	}
	run, results, err := tester.Send(ctx, spec, time.Now())
	if err != nil || len(results) != 1 || !results[0].Sent() {
		t.Fatalf("send: %v, %+v", err, results)
	}
	_, bodies := rcv.posts()
	var got map[string]any
	if len(bodies) != 1 || json.Unmarshal(bodies[0], &got) != nil {
		t.Fatalf("received %q", bodies)
	}
	if got["run_id"] != run.String() || got["status"] != "success" || got["kwargs"] == nil || got["rule_id"] != nil {
		t.Errorf("body is not the run in LangGraph's shape: %s", bodies[0])
	}
}

// loopbackTester is a Tester on store whose sender and URL policy open
// loopback only (delivery.allow_cidrs), with a fresh secrets key.
func loopbackTester(t *testing.T, store ruleops.TestStore) ruleops.Tester {
	t.Helper()
	box, err := secrets.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testenv.Config(t).Delivery
	cfg.AllowCIDRs = []string{"127.0.0.0/8"}
	guard, err := iapp.Guard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	policy := iapp.URLPolicy(cfg)
	return ruleops.Tester{Store: store, Secrets: box, Policy: policy,
		Sender: delivery.NewSender(delivery.SenderOptions{Timeout: 5 * time.Second, Guard: guard})}
}
