package activities

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/secrets"
)

// receiver is a loopback webhook receiver answering every POST with status.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	ids    []string
	auth   []string
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies, r.ids = append(r.bodies, string(body)), append(r.ids, req.Header.Get("webhook-id"))
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// deliverRig is Activities on a fake store, sending to loopback only.
type deliverRig struct {
	store *fakeStore
	acts  *Activities
	box   *secrets.Box
	env   *testsuite.TestActivityEnvironment
}

func newDeliverRig(t *testing.T) *deliverRig {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	s := newFakeStore()
	a := &Activities{Store: s, Secrets: box, MaxBodyBytes: 1 << 20, MaxRunsPerDelivery: 100,
		Sender: delivery.NewSender(delivery.SenderOptions{Timeout: 5 * time.Second,
			Guard: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return &deliverRig{store: s, acts: a, box: box, env: env}
}

// hook stores webhook 0 of rule, posting to url.
func (r *deliverRig) hook(t *testing.T, rule uuid.UUID, url string) {
	w, err := delivery.Seal(r.box, delivery.URLPolicy{}, rule, 0, delivery.Target{URL: url}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.store.webhooks = append(r.store.webhooks, w)
}

func (r *deliverRig) deliver(in DeliverInput) (DeliverResult, error) {
	v, err := r.env.ExecuteActivity(r.acts.Deliver, in)
	if err != nil {
		return DeliverResult{}, err
	}
	var res DeliverResult
	return res, v.Get(&res)
}

func deliverInput(rule uuid.UUID, ids ...uuid.UUID) DeliverInput {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	return DeliverInput{DeliveryID: "deliver-x/b0/w0", Batch: Batch{RuleID: rule, WindowStart: now.Add(-time.Minute), WindowEnd: now, RunIDs: ids},
		Record: true}
}

func TestDeliverPostsTheRunsAndRecordsTheOutcome(t *testing.T) {
	r := newDeliverRig(t)
	recv := newReceiver(t, http.StatusOK)
	rule := uuid.New()
	r.hook(t, rule, recv.URL+"/hook")
	ids := []uuid.UUID{r.store.addRun(10), r.store.addRun(10)}

	res, err := r.deliver(deliverInput(rule, ids...))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !res.Recorded || res.Bytes == 0 {
		t.Fatalf("result %+v", res)
	}
	if len(recv.bodies) != 1 || !strings.Contains(recv.bodies[0], ids[0].String()) || !strings.Contains(recv.bodies[0], ids[1].String()) ||
		recv.ids[0] != "deliver-x/b0/w0" {
		t.Fatalf("received %v with webhook-id %v", recv.bodies, recv.ids)
	}
	if len(r.store.attempts) != 1 || r.store.attempts[0].Class != string(delivery.Delivered) || r.store.attempts[0].URLRedacted == "" {
		t.Fatalf("attempts %+v", r.store.attempts)
	}
	if len(r.store.outcomes) != 2 || r.store.outcomes[0].Outcome != rulelog.Delivered || r.store.outcomes[1].RunID != ids[1] {
		t.Fatalf("outcomes %+v", r.store.outcomes)
	}
}

func TestDeliverRefusedByTheReceiverRecordsTheFailure(t *testing.T) {
	r := newDeliverRig(t)
	recv := newReceiver(t, http.StatusNotFound)
	rule := uuid.New()
	r.hook(t, rule, recv.URL)
	id := r.store.addRun(10)

	_, err := r.deliver(deliverInput(rule, id))
	if class, _ := Failure(err); class != string(delivery.ClientError) {
		t.Fatalf("error %v: class %q, want client_error", err, class)
	}
	// A 4xx is final, so this attempt was the last and recorded the outcome.
	if recorded, ok := RecordedOutcome(err); !ok || recorded.Paused {
		t.Fatalf("recorded %+v, %v", recorded, ok)
	}
	if len(r.store.outcomes) != 1 || r.store.outcomes[0].Outcome != rulelog.Failed || !strings.Contains(r.store.outcomes[0].Reason, "client_error") {
		t.Fatalf("outcomes %+v", r.store.outcomes)
	}
	if len(recv.bodies) != 1 {
		t.Fatalf("%d POSTs, want 1", len(recv.bodies))
	}
}

func TestDeliverToAWebhookThatIsGoneSendsNothing(t *testing.T) {
	r := newDeliverRig(t)
	rule := uuid.New()
	_, err := r.deliver(deliverInput(rule, r.store.addRun(10)))
	if class, _ := Failure(err); class != string(delivery.Invalid) {
		t.Fatalf("error %v: class %q, want invalid", err, class)
	}
	if len(r.store.attempts) != 1 || r.store.attempts[0].Class != string(delivery.Invalid) || len(r.store.outcomes) != 1 {
		t.Fatalf("attempts %+v, outcomes %+v", r.store.attempts, r.store.outcomes)
	}
}

func TestDeliverARunWebhook(t *testing.T) {
	r := newDeliverRig(t)
	recv := newReceiver(t, http.StatusOK)
	run := r.store.addRun(10)
	w, err := delivery.SealRunWebhook(r.box, run, recv.URL+"/run", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.store.hooks[run] = w
	in := DeliverInput{DeliveryID: "run-webhook/x/delivery", Batch: Batch{RuleID: rulelog.RunWebhookRuleID(), RunIDs: []uuid.UUID{run}},
		RunWebhookOf: run, Record: true}

	res, err := r.deliver(in)
	if err != nil || res.StatusCode != 200 || !res.Recorded {
		t.Fatalf("result %+v, %v", res, err)
	}
	if len(recv.bodies) != 1 || !strings.Contains(recv.bodies[0], `"id":"`+run.String()) || strings.Contains(recv.bodies[0], `"runs"`) {
		t.Fatalf("received %v: want the run itself", recv.bodies)
	}

	// With http.disable_webhooks set, a registered run webhook is refused.
	r.acts.RunWebhooksDisabled = true
	if _, err := r.deliver(in); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("disabled: %v", err)
	}
	if len(recv.bodies) != 1 {
		t.Fatalf("%d POSTs, want the first only", len(recv.bodies))
	}
}

func TestDeliverInLangGraphFormat(t *testing.T) {
	r := newDeliverRig(t)
	recv := newReceiver(t, http.StatusOK)
	rule := uuid.New()
	w, err := delivery.Seal(r.box, delivery.URLPolicy{}, rule, 0, delivery.Target{URL: recv.URL, Format: payload.FormatLangGraph}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.store.webhooks = append(r.store.webhooks, w)
	id := r.store.addRun(10)
	if _, err := r.deliver(deliverInput(rule, id)); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if len(recv.bodies) != 1 || json.Unmarshal([]byte(recv.bodies[0]), &got) != nil {
		t.Fatalf("received %v", recv.bodies)
	}
	if got["run_id"] != id.String() || got["status"] != "success" || got["kwargs"] == nil || got["webhook_sent_at"] == nil || got["rule_id"] != nil {
		t.Errorf("body %s: want the run alone in LangGraph's shape", recv.bodies[0])
	}

	// A batch planned before the format changed cannot be one LangGraph Run.
	_, err = r.deliver(deliverInput(rule, r.store.addRun(10), r.store.addRun(10)))
	if class, _ := Failure(err); class != string(delivery.Invalid) || len(recv.bodies) != 1 {
		t.Fatalf("two runs to a langgraph webhook: %v (class %q), %d POSTs", err, class, len(recv.bodies))
	}

	// A run webhook registered in LangGraph's format.
	run := r.store.addRun(10)
	rw, err := delivery.SealRunWebhook(r.box, run, recv.URL+"/run", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rw.Format = string(payload.FormatLangGraph)
	r.store.hooks[run] = rw
	in := DeliverInput{DeliveryID: "run-webhook/y/delivery", Batch: Batch{RuleID: rulelog.RunWebhookRuleID(), RunIDs: []uuid.UUID{run}},
		RunWebhookOf: run, Record: true}
	if _, err := r.deliver(in); err != nil {
		t.Fatal(err)
	}
	if len(recv.bodies) != 2 || !strings.Contains(recv.bodies[1], `"run_id":"`+run.String()) || strings.Contains(recv.bodies[1], `"dotted_order"`) {
		t.Fatalf("run webhook body %v: want LangGraph's shape", recv.bodies[1:])
	}
}

// The worker's static headers (config webhooks.headers) go on a rule's
// deliveries; the webhook's own header of the same name wins.
func TestDeliverCarriesStaticHeaders(t *testing.T) {
	r := newDeliverRig(t)
	r.acts.Sender = delivery.NewSender(delivery.SenderOptions{Timeout: 5 * time.Second,
		Guard:   netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Headers: map[string]string{"Authorization": "Bearer static"}})
	recv := newReceiver(t, http.StatusOK)
	plain, own := uuid.New(), uuid.New()
	r.hook(t, plain, recv.URL)
	w, err := delivery.Seal(r.box, delivery.URLPolicy{}, own, 0, delivery.Target{URL: recv.URL, Headers: map[string]string{"Authorization": "Bearer own"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.store.webhooks = append(r.store.webhooks, w)
	for _, rule := range []uuid.UUID{plain, own} {
		if _, err := r.deliver(deliverInput(rule, r.store.addRun(10))); err != nil {
			t.Fatal(err)
		}
	}
	if len(recv.auth) != 2 || recv.auth[0] != "Bearer static" || recv.auth[1] != "Bearer own" {
		t.Errorf("Authorization received %q, want the static one, then the webhook's own", recv.auth)
	}
}

func TestRecordOutcomeOfSkippedRuns(t *testing.T) {
	r := newDeliverRig(t)
	rule, ids := uuid.New(), []uuid.UUID{uuid.New(), uuid.New()}
	res, err := r.acts.RecordOutcome(t.Context(), OutcomeInput{DeliveryID: "d", RuleID: rule, WebhookIndex: 2, RunIDs: ids,
		Skipped: true, Reason: "too big"})
	if err != nil || res != (OutcomeResult{}) {
		t.Fatalf("result %+v, %v", res, err)
	}
	for i, o := range r.store.outcomes {
		if o.Outcome != rulelog.Skipped || o.Reason != "too big" || o.RunID != ids[i] || o.WebhookIndex != 2 || o.DeliveryID != "d" {
			t.Fatalf("outcome %d: %+v", i, o)
		}
	}
	if len(r.store.outcomes) != 2 {
		t.Fatalf("%d outcomes, want 2", len(r.store.outcomes))
	}
}
