package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
)

func (f *fakeStore) PauseWebhook(_ context.Context, p clickhouse.WebhookPause) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookPauses = append(f.webhookPauses, p)
	return nil
}

func (f *fakeStore) WebhookPauses(_ context.Context, rule uuid.UUID) ([]clickhouse.WebhookPause, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	latest := map[uint16]clickhouse.WebhookPause{}
	for _, p := range f.webhookPauses {
		if p.RuleID == rule && p.At.After(latest[p.Index].At) {
			latest[p.Index] = p
		}
	}
	var out []clickhouse.WebhookPause
	for _, p := range latest {
		out = append(out, p)
	}
	return out, nil
}

// standardInput is attempt n of a retry: standard delivery to webhook 0.
func standardInput(rule uuid.UUID, n int32, ids ...uuid.UUID) DeliverInput {
	in := deliverInput(rule, ids...)
	in.Record, in.Standard, in.Attempt = false, true, n
	return in
}

func (r *deliverRig) standardHook(t *testing.T, rule uuid.UUID, url string) {
	w, err := delivery.Seal(r.box, delivery.URLPolicy{}, rule, 0, delivery.Target{URL: url, Retry: delivery.RetryStandard}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.store.webhooks = append(r.store.webhooks, w)
}

func TestStandardAttemptAnswersRetryAfter(t *testing.T) {
	r := newDeliverRig(t)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer recv.Close()
	rule := uuid.New()
	r.standardHook(t, rule, recv.URL)

	_, err := r.deliver(standardInput(rule, 3, r.store.addRun(10)))
	if class, _ := Failure(err); class != string(delivery.ServerError) {
		t.Fatalf("error %v: class %q", err, class)
	}
	if a := Answer(err); !a.Retry || a.RetryAfter != 7*time.Second || a.Gone {
		t.Errorf("answer %+v, want a retry after 7s", a)
	}
	// The attempt is recorded under its number in the schedule; the outcome
	// is the workflow's to record.
	if len(r.store.attempts) != 1 || r.store.attempts[0].Attempt != 3 || r.store.attempts[0].Class != string(delivery.ServerError) ||
		len(r.store.outcomes) != 0 {
		t.Errorf("attempts %+v, outcomes %+v", r.store.attempts, r.store.outcomes)
	}
}

func TestStandardAttemptGonePausesTheWebhook(t *testing.T) {
	r := newDeliverRig(t)
	recv := newReceiver(t, http.StatusGone)
	rule := uuid.New()
	r.standardHook(t, rule, recv.URL)

	_, err := r.deliver(standardInput(rule, 1, r.store.addRun(10)))
	if a := Answer(err); a.Retry || !a.Gone {
		t.Fatalf("answer %+v, want gone and no retry", a)
	}
	if _, reason := Failure(err); !strings.Contains(reason, "410") || !strings.Contains(reason, "resume the rule") {
		t.Errorf("reason %q does not say how to send again", reason)
	}
	if len(r.store.webhookPauses) != 1 || r.store.webhookPauses[0].Index != 0 {
		t.Fatalf("webhook pauses %+v", r.store.webhookPauses)
	}

	// The next plan skips it, until the rule resumes or the webhook is written again.
	ids := []uuid.UUID{r.store.addRun(10)}
	plan, err := r.acts.PlanDelivery(context.Background(), planInput(rule, ids))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Webhooks) != 0 || len(plan.Gone) != 1 || !strings.Contains(plan.Gone[0].Reason, "410") {
		t.Fatalf("plan %+v: want webhook 0 gone", plan)
	}
	r.store.pauses = append(r.store.pauses, clickhouse.Pause{RuleID: rule, At: time.Now().Add(time.Second), Reason: "resumed"})
	if plan, err = r.acts.PlanDelivery(context.Background(), planInput(rule, ids)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Webhooks, []uint16{0}) || len(plan.Gone) != 0 || !slices.Equal(plan.Standard, []uint16{0}) {
		t.Fatalf("plan after resume %+v", plan)
	}
}

func TestPlanDeliveryNamesStandardWebhooksAndTheirSchedule(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	s.webhooks = []clickhouse.Webhook{{RuleID: rule, Index: 0}, {RuleID: rule, Index: 1, Retry: delivery.RetryStandard}}
	ids := []uuid.UUID{s.addRun(10)}
	a := &Activities{Store: s, MaxRunsPerDelivery: 2, MaxBodyBytes: 1 << 20}
	plan, err := a.PlanDelivery(context.Background(), planInput(rule, ids))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Webhooks, []uint16{0, 1}) || !slices.Equal(plan.Standard, []uint16{1}) || !slices.Equal(plan.Schedule, delivery.StandardSchedule) {
		t.Fatalf("plan %+v", plan)
	}
	a.StandardSchedule = []time.Duration{time.Millisecond}
	if plan, _ = a.PlanDelivery(context.Background(), planInput(rule, ids)); !slices.Equal(plan.Schedule, a.StandardSchedule) {
		t.Errorf("schedule %v, want delivery.standard_schedule's", plan.Schedule)
	}

	// A rule without standard webhooks plans as before: nothing more.
	s.webhooks[1].Retry = ""
	if plan, _ = a.PlanDelivery(context.Background(), planInput(rule, ids)); plan.Standard != nil || plan.Schedule != nil || plan.Gone != nil {
		t.Errorf("plan %+v names standard retries", plan)
	}
}
