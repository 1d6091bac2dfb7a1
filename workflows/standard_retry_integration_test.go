package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/workflows"
)

// standardRule stores a rule whose webhooks all set retry: standard.
func (h *harness) standardRule(t *testing.T, urls ...string) uuid.UUID {
	t.Helper()
	rule := uuid.New()
	var ws []clickhouse.Webhook
	for i, u := range urls {
		w, err := delivery.Seal(h.box, delivery.URLPolicy{}, rule, uint16(i), delivery.Target{URL: u, Retry: delivery.RetryStandard}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	if err := h.store.PutWebhooks(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	return rule
}

// timerStarted says whether the workflow waits on a timer.
func timerStarted(t *testing.T, c client.Client, id string) bool {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
			return true
		}
	}
	return false
}

// On the real services, with an accelerated schedule: a 503 with
// Retry-After: 2 is retried after 2 s, not the schedule's 50 ms, on a timer
// that outlives the worker that set it; a 410 pauses its webhook, and the
// next delivery skips it.
func TestStandardRetryOnRealServices(t *testing.T) {
	h := newHarness(t, func(a *activities.Activities) {
		a.StandardSchedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	})
	rcv := newReceiver(t)
	ctx := context.Background()
	rule := h.standardRule(t, rcv.srv.URL+"/503-retry-after-then-200", rcv.srv.URL+"/410")
	ids := h.addRuns(t, 1, 10)
	id := "deliver-standard-" + rule.String()

	run, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: h.queue}, workflows.DeliverRuns,
		workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, RunIDs: ids, WindowStart: time.Now().Add(-time.Minute), WindowEnd: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	// The worker stops while the workflow waits out the Retry-After; a new
	// one finishes the delivery.
	for deadline := time.Now().Add(30 * time.Second); !timerStarted(t, h.c, id); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no timer after the first attempt")
		}
	}
	h.w.Stop()
	w := worker.New(h.c, h.queue, worker.Options{})
	w.RegisterWorkflow(workflows.DeliverRuns)
	w.RegisterActivity(h.acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	var res workflows.DeliverRunsResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Deliveries != 2 || res.Delivered != 1 || res.Failed != 1 {
		t.Fatalf("result %+v", res)
	}
	rcv.mu.Lock()
	arrivals := rcv.arrivals["/503-retry-after-then-200"]
	rcv.mu.Unlock()
	if len(arrivals) != 2 || arrivals[1].Sub(arrivals[0]) < 2*time.Second {
		t.Errorf("arrivals %v: want a second one 2 s (Retry-After) after the first", arrivals)
	}
	if n := rcv.count("/410"); n != 1 {
		t.Errorf("the 410 receiver saw %d POSTs, want 1", n)
	}

	// Every attempt is on record with its class and number.
	attempts, err := h.store.AttemptsSince(ctx, rule, time.Now().Add(-5*time.Minute), workflows.BatchDeliveryID(id, 0, 0))
	if err != nil || len(attempts) != 2 || attempts[0].Class != string(delivery.ServerError) || attempts[1].Class != string(delivery.Delivered) ||
		attempts[0].Attempt != 1 || attempts[1].Attempt != 2 {
		t.Errorf("attempts %+v, %v", attempts, err)
	}
	gone, err := h.store.AttemptsSince(ctx, rule, time.Now().Add(-5*time.Minute), workflows.BatchDeliveryID(id, 0, 1))
	if err != nil || len(gone) != 1 || gone[0].Class != string(delivery.ClientError) || gone[0].StatusCode != 410 {
		t.Errorf("410 attempts %+v, %v", gone, err)
	}
	outcomes, err := h.store.Outcomes(ctx, rule, ids)
	if err != nil || len(outcomes) != 2 {
		t.Fatalf("outcomes %+v, %v", outcomes, err)
	}
	for _, o := range outcomes {
		want := rulelog.Delivered
		if o.WebhookIndex == 1 {
			want = rulelog.Failed
		}
		if o.Outcome != want {
			t.Errorf("webhook %d: outcome %+v, want %s", o.WebhookIndex, o, want)
		}
	}

	// The next delivery skips the paused webhook and says why.
	more := h.addRuns(t, 1, 10)
	next := h.deliverRuns(t, "deliver-standard-2-"+rule.String(), workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, RunIDs: more}})
	if next.Deliveries != 1 || next.Delivered != 1 || rcv.count("/410") != 1 {
		t.Fatalf("next %+v, 410 receiver saw %d", next, rcv.count("/410"))
	}
	skipped, _ := h.store.Outcomes(ctx, rule, more)
	found := false
	for _, o := range skipped {
		if o.WebhookIndex == 1 {
			found = o.Outcome == rulelog.Skipped && strings.Contains(o.Reason, "410 Gone")
		}
	}
	if !found {
		t.Errorf("outcomes of the next delivery %+v: want webhook 1 skipped for its 410", skipped)
	}
}
