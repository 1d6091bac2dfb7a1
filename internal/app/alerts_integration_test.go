package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/alerts"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/workflows"
)

const alertSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// alertReceiver keeps the alerts posted to /alerts and refuses every other
// POST with 400, a final failure, as a rule's broken webhook.
type alertReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	alerts []received
}

type received struct {
	header http.Header
	query  string
	body   []byte
}

func newAlertReceiver(t *testing.T) *alertReceiver {
	r := &alertReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.URL.Path != "/alerts" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.alerts = append(r.alerts, received{req.Header.Clone(), req.URL.RawQuery, body})
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *alertReceiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.alerts...)
}

// The three alerts, raised by real workflows on the real Temporal and
// ClickHouse, each reach alerts.url once, signed, through the worker's
// sender (its static headers on), and are counted.
func TestAlertsEndToEnd(t *testing.T) {
	ctx := context.Background()
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)
	rcv := newAlertReceiver(t)

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := testenv.Config(t)
	cfg.Temporal.TaskQueue = queue
	cfg.Secrets.Key = base64.StdEncoding.EncodeToString(key)
	cfg.Delivery.AllowCIDRs = []string{"127.0.0.0/8"}
	cfg.Delivery.PauseAfterFailures = 1
	cfg.Delivery.InitialInterval = 10 * time.Millisecond
	cfg.Webhooks.Headers = map[string]string{"X-Team": "ops"}
	cfg.Alerts.URL = rcv.URL + "/alerts?token=s3cret"
	cfg.Alerts.SigningSecret = alertSecret
	var logs testenv.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	acts, err := app.Activities(cfg, store, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Alerts(cfg, c, acts); err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	// A rule whose one webhook refuses: its delivery fails finally, which
	// pauses the rule (pause_after_failures 1).
	rule := uuid.New()
	if err := store.PutRule(ctx, clickhouse.StoredRule{ID: rule, Name: "alerting-rule", Spec: "{}", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	hook, err := delivery.Seal(acts.Secrets, delivery.URLPolicy{}, rule, 0, delivery.Target{URL: rcv.URL + "/broken"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{hook}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	runID := uuid.New()
	if err := store.InsertRuns(ctx, []runs.Run{{ID: runID, TraceID: runID, SessionID: uuid.New(), Name: "r", RunType: "chain",
		Status: "success", IsRoot: true, StartTime: now, EndTime: &now, ModifiedAt: now}}); err != nil {
		t.Fatal(err)
	}
	deliverID := "alerts-deliver-" + rule.String()
	var delivered workflows.DeliverRunsResult
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: deliverID, TaskQueue: queue}, workflows.DeliverRuns,
		workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, WindowStart: now.Add(-time.Minute), WindowEnd: now.Add(time.Second),
			RunIDs: []uuid.UUID{runID}}, HTTPTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, &delivered); err != nil || delivered.Failed != 1 {
		t.Fatalf("DeliverRuns = %+v, %v; want one failed delivery", delivered, err)
	}

	// A run webhook whose run never ends: it gives up at MaxWait.
	lost := uuid.New()
	var gaveUp workflows.RunWebhookResult
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.RunWebhookID(lost), TaskQueue: queue}, workflows.RunWebhook,
		workflows.RunWebhookInput{RunID: lost, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, &gaveUp); err != nil || !gaveUp.GaveUp {
		t.Fatalf("RunWebhook = %+v, %v; want given up", gaveUp, err)
	}

	// The same triggers again, as retried activities would run them: the
	// events' IDs are the same, so nothing is started or sent twice.
	batch := workflows.BatchDeliveryID(deliverID, 0, 0)
	if _, err := acts.RecordOutcome(ctx, activities.OutcomeInput{DeliveryID: batch, RuleID: rule, RunIDs: []uuid.UUID{runID},
		Reason: "client_error: receiver answered 400 Bad Request"}); err != nil {
		t.Fatal(err)
	}
	if _, err := acts.RecordOutcome(ctx, activities.OutcomeInput{DeliveryID: workflows.RunWebhookID(lost), RuleID: rulelog.RunWebhookRuleID(),
		RunIDs: []uuid.UUID{lost}, Reason: "run did not end", Expired: true}); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for len(rcv.received()) < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a duplicate to arrive
	got := rcv.received()
	if len(got) != 3 {
		t.Fatalf("received %d alerts, want 3", len(got))
	}
	wh, err := standardwebhooks.NewWebhook(alertSecret)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[alerts.Type]alerts.Event{}
	for _, r := range got {
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("alert signature does not verify: %v", err)
		}
		var ev alerts.Event
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		if r.header.Get("webhook-id") != ev.ID || r.header.Get("X-Team") != "ops" || r.query != "token=s3cret" {
			t.Errorf("alert %s came with webhook-id %q, X-Team %q, query %q", ev.Type, r.header.Get("webhook-id"), r.header.Get("X-Team"), r.query)
		}
		if _, dup := byType[ev.Type]; dup {
			t.Errorf("%s arrived twice", ev.Type)
		}
		byType[ev.Type] = ev
	}
	if ev := byType[alerts.DeliveryFailed]; ev.RuleID != rule || ev.RuleName != "alerting-rule" || ev.DeliveryID != batch ||
		!strings.Contains(ev.Reason, "400") || strings.Contains(ev.Reason, rcv.URL) {
		t.Errorf("delivery.failed = %+v", ev)
	}
	if ev := byType[alerts.RulePaused]; ev.RuleID != rule || ev.RuleName != "alerting-rule" || ev.Failures != 1 || ev.DeliveryID != batch ||
		!strings.Contains(ev.Reason, "1 deliveries failed in a row") {
		t.Errorf("rule.paused = %+v", ev)
	}
	if ev := byType[alerts.RunWebhookExpired]; ev.RunID != lost || !strings.Contains(ev.Reason, "http.webhook_max_wait") {
		t.Errorf("run_webhook.expired = %+v", ev)
	}

	families, err := acts.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]float64{}
	for _, f := range families {
		if f.GetName() == "runhook_alerts_total" || f.GetName() == "runhook_alerts_failed_total" {
			for _, m := range f.GetMetric() {
				counted[f.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	for _, typ := range []alerts.Type{alerts.RulePaused, alerts.DeliveryFailed, alerts.RunWebhookExpired} {
		if n := counted["runhook_alerts_total/"+string(typ)]; n != 1 {
			t.Errorf("runhook_alerts_total{type=%q} = %v, want 1", typ, n)
		}
		if n := counted["runhook_alerts_failed_total/"+string(typ)]; n != 0 {
			t.Errorf("runhook_alerts_failed_total{type=%q} = %v, want 0", typ, n)
		}
	}
	if s := logs.String(); strings.Contains(s, "s3cret") || strings.Contains(s, alertSecret) {
		t.Errorf("logs show an alert secret:\n%s", s)
	}
}
