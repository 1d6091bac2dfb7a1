package activities

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/internal/alerts"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/metrics"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/testenv"
)

// startedAlerts is an alerts.Starter that keeps what it started, once per ID.
type startedAlerts struct {
	mu     sync.Mutex
	events []alerts.Event
}

func (s *startedAlerts) StartAlert(_ context.Context, ev alerts.Event) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.events, func(e alerts.Event) bool { return e.ID == ev.ID }) {
		return false, nil
	}
	s.events = append(s.events, ev)
	return true, nil
}

func (s *startedAlerts) types() []alerts.Type {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []alerts.Type
	for _, e := range s.events {
		out = append(out, e.Type)
	}
	return out
}

func TestRecordOutcomeRaisesAlerts(t *testing.T) {
	ctx := context.Background()
	started := &startedAlerts{}
	a := &Activities{Store: testenv.ClickHouse(t), PauseAfterFailures: 2, Logger: slog.New(slog.DiscardHandler),
		Alerts: &alerts.Raiser{Starter: started, Logger: slog.New(slog.DiscardHandler)}}
	rule := uuid.New()
	runs := []uuid.UUID{uuid.New(), uuid.New()}
	for _, step := range []struct {
		name string
		in   OutcomeInput
		want []alerts.Type // raised by this step
	}{
		{"delivered", OutcomeInput{DeliveryID: "d1", RuleID: rule, RunIDs: runs[:1], Delivered: true}, nil},
		{"failed", OutcomeInput{DeliveryID: "d2", RuleID: rule, RunIDs: runs[:1], Reason: "server_error: 503"},
			[]alerts.Type{alerts.DeliveryFailed}},
		{"skipped", OutcomeInput{DeliveryID: "s", RuleID: rule, RunIDs: runs[:1], Skipped: true, Reason: "paused"}, nil},
		{"run webhook failed", OutcomeInput{DeliveryID: "r", RuleID: rulelog.RunWebhookRuleID(), RunIDs: runs[:1], Reason: "timeout"}, nil},
		{"pausing failure", OutcomeInput{DeliveryID: "d3", RuleID: rule, RunIDs: runs, Reason: "server_error: 503"},
			[]alerts.Type{alerts.DeliveryFailed, alerts.RulePaused}},
		{"pausing failure retried", OutcomeInput{DeliveryID: "d3", RuleID: rule, RunIDs: runs, Reason: "server_error: 503"}, nil},
		{"failure of a paused rule", OutcomeInput{DeliveryID: "d4", RuleID: rule, RunIDs: runs[:1], Reason: "server_error: 503"},
			[]alerts.Type{alerts.DeliveryFailed}},
		{"run webhooks expired", OutcomeInput{DeliveryID: "run-webhooks/x", RuleID: rulelog.RunWebhookRuleID(), RunIDs: runs,
			Reason: "run not stored ended", Expired: true}, []alerts.Type{alerts.RunWebhookExpired, alerts.RunWebhookExpired}},
		{"run webhooks expired retried", OutcomeInput{DeliveryID: "run-webhooks/x", RuleID: rulelog.RunWebhookRuleID(), RunIDs: runs,
			Reason: "run not stored ended", Expired: true}, nil},
	} {
		before := len(started.types())
		if _, err := a.RecordOutcome(ctx, step.in); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := started.types()[before:]; !slices.Equal(got, step.want) {
			t.Fatalf("%s: raised %v, want %v", step.name, got, step.want)
		}
	}
	for _, ev := range started.events {
		switch ev.Type {
		case alerts.RulePaused:
			if ev.RuleID != rule || ev.DeliveryID != "d3" || ev.Failures != 2 ||
				ev.Reason != "2 deliveries failed in a row (delivery.pause_after_failures = 2); last: server_error: 503" {
				t.Errorf("rule.paused = %+v", ev)
			}
		case alerts.DeliveryFailed:
			if ev.RuleID != rule || ev.WebhookIndex == nil || ev.Reason != "server_error: 503" {
				t.Errorf("delivery.failed = %+v", ev)
			}
		case alerts.RunWebhookExpired:
			if !slices.Contains(runs, ev.RunID) || ev.DeliveryID != "run-webhooks/x" || ev.RuleID != uuid.Nil {
				t.Errorf("run_webhook.expired = %+v", ev)
			}
		}
	}
}

func TestAlertsOffRaiseNothing(t *testing.T) {
	s := newFakeStore()
	a := &Activities{Store: s}
	// A nil Alerts must not read the rule nor start anything.
	a.alertFailed(context.Background(), OutcomeInput{DeliveryID: "d", RuleID: uuid.New()}, time.Now())
	a.alertExpired(context.Background(), OutcomeInput{Expired: true, RunIDs: []uuid.UUID{uuid.New()}}, time.Now())
}

func TestAlertCarriesTheRuleName(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	s.rules[rule] = clickhouse.StoredRule{ID: rule, Name: "errors-to-slack"}
	started := &startedAlerts{}
	a := &Activities{Store: s, Alerts: &alerts.Raiser{Starter: started, Logger: slog.New(slog.DiscardHandler)}}
	a.alertFailed(context.Background(), OutcomeInput{DeliveryID: "d", RuleID: rule, RunIDs: []uuid.UUID{uuid.New()}}, time.Now())
	if len(started.events) != 1 || started.events[0].RuleName != "errors-to-slack" {
		t.Errorf("raised %+v", started.events)
	}
}

func alertActivities(t *testing.T, url string, m *metrics.Metrics) (*Activities, *testsuite.TestActivityEnvironment) {
	t.Helper()
	sender := delivery.NewSender(delivery.SenderOptions{Timeout: 5 * time.Second,
		Guard: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	target, err := alerts.NewTarget(url, "", sender)
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{AlertTarget: target, Metrics: m, Logger: slog.New(slog.DiscardHandler)}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return a, env
}

func alertsFailed(t *testing.T, m *metrics.Metrics, typ string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "runhook_alerts_failed_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			if s.GetLabel()[0].GetValue() == typ {
				return s.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no runhook_alerts_failed_total{type=%q}", typ)
	return 0
}

func TestSendAlert(t *testing.T) {
	ev := alerts.RunWebhookExpiredEvent(uuid.New(), "w", "run not stored ended", time.Now())

	ok := newReceiver(t, 204)
	m := metrics.New()
	a, env := alertActivities(t, ok.URL, m)
	if _, err := env.ExecuteActivity(a.SendAlert, ev); err != nil {
		t.Fatal(err)
	}
	if len(ok.ids) != 1 || ok.ids[0] != ev.ID {
		t.Errorf("receiver got webhook-ids %v, want [%s]", ok.ids, ev.ID)
	}

	// A final failure (4xx) is the last attempt: the alert is counted failed.
	refused := newReceiver(t, 400)
	a, env = alertActivities(t, refused.URL, m)
	_, err := env.ExecuteActivity(a.SendAlert, ev)
	if class, _ := Failure(err); class != string(delivery.ClientError) {
		t.Errorf("error = %v, class %s", err, class)
	}
	if n := alertsFailed(t, m, string(ev.Type)); n != 1 {
		t.Errorf("alerts failed = %v, want 1", n)
	}

	// alerts.url unset since the alert was raised: dropped, not retried.
	a, env = alertActivities(t, "", m)
	if _, err := env.ExecuteActivity(a.SendAlert, ev); err != nil {
		t.Errorf("no target: %v", err)
	}
}
