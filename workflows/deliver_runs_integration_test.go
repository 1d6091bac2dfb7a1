package workflows_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/metrics"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/workflows"
)

// addRuns stores n completed runs; big ones carry about size bytes of inputs.
func (h *harness) addRuns(t *testing.T, n, size int) []uuid.UUID {
	t.Helper()
	now := time.Now().UTC()
	var rs []runs.Run
	var ids []uuid.UUID
	for i := 0; i < n; i++ {
		id := uuid.New()
		inputs, _ := json.Marshal(map[string]string{"text": strings.Repeat("x", size)})
		rs = append(rs, runs.Run{ID: id, TraceID: id, SessionID: uuid.New(), Name: "r", RunType: "chain", Status: "success",
			IsRoot: true, StartTime: now, EndTime: &now, ModifiedAt: now, Inputs: inputs})
		ids = append(ids, id)
	}
	if err := h.store.InsertRuns(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	return ids
}

func (h *harness) rule(t *testing.T, urls ...string) uuid.UUID {
	t.Helper()
	rule := uuid.New()
	var ws []clickhouse.Webhook
	for i, u := range urls {
		w, err := delivery.Seal(h.box, delivery.URLPolicy{}, rule, uint16(i), delivery.Target{URL: u}, time.Now())
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

func (h *harness) deliverRuns(t *testing.T, id string, in workflows.DeliverRunsInput) workflows.DeliverRunsResult {
	t.Helper()
	ctx := context.Background()
	in.WindowStart, in.WindowEnd = time.Now().Add(-time.Minute), time.Now()
	run, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: h.queue}, workflows.DeliverRuns, in)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.DeliverRunsResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDeliverRunsBatchesEveryWebhook(t *testing.T) {
	m := metrics.New()
	h := newHarness(t, func(a *activities.Activities) { a.Metrics = m })
	rcv := newReceiver(t)
	ids := h.addRuns(t, 5, 10)
	rule := h.rule(t, rcv.srv.URL+"/ok?secret=a", rcv.srv.URL+"/ok?secret=b")

	res := h.deliverRuns(t, "deliver-"+rule.String(), workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, RunIDs: ids}, MaxRuns: 2})
	// 5 runs at 2 per POST: 3 batches, each to both webhooks.
	if res.Deliveries != 6 || res.Delivered != 6 || rcv.count("/ok") != 6 {
		t.Fatalf("result %+v, receiver saw %d", res, rcv.count("/ok"))
	}
	seen := map[string]int{}
	for _, req := range rcv.requests["/ok"] {
		var p struct{ Runs []struct{ ID string } }
		_ = json.Unmarshal(req.body, &p)
		if len(p.Runs) > 2 {
			t.Errorf("a POST carried %d runs, more than max_runs 2", len(p.Runs))
		}
		for _, r := range p.Runs {
			seen[r.ID+req.query]++
		}
		if !strings.HasPrefix(req.header.Get("webhook-id"), "deliver-"+rule.String()+"/b") {
			t.Errorf("webhook-id %q is not the readable delivery ID", req.header.Get("webhook-id"))
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d distinct (run, webhook) arrivals, want 10", len(seen))
	}
	outcomes, err := h.store.Outcomes(context.Background(), rule, ids)
	if err != nil || len(outcomes) != 10 {
		t.Fatalf("%d outcomes, %v; want 10", len(outcomes), err)
	}
	for _, o := range outcomes {
		if o.Outcome != rulelog.Delivered {
			t.Errorf("outcome %+v", o)
		}
	}

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`runhook_deliveries_total{outcome="delivered"} 6`, `runhook_delivery_attempts_total{class="delivered"} 6`,
		`runhook_delivery_attempt_duration_seconds_count 6`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(body), "secret=") {
		t.Error("metrics show a URL")
	}
}

func TestDeliverRunsSkipsOversizeRuns(t *testing.T) {
	h := newHarness(t, func(a *activities.Activities) { a.MaxBodyBytes = 20_000 })
	rcv := newReceiver(t)
	small := h.addRuns(t, 2, 10)
	big := h.addRuns(t, 1, 50_000)
	rule := h.rule(t, rcv.srv.URL+"/ok")
	ids := append(append([]uuid.UUID{}, small[0]), append(big, small[1])...)

	res := h.deliverRuns(t, "deliver-"+rule.String(), workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, RunIDs: ids}})
	if res.RunsSkipped != 1 || res.Delivered < 1 {
		t.Fatalf("result %+v", res)
	}
	for _, req := range rcv.requests["/ok"] {
		if len(req.body) > 20_000 {
			t.Errorf("a POST of %d bytes exceeds max_body_bytes", len(req.body))
		}
	}
	outcomes, _ := h.store.Outcomes(context.Background(), rule, big)
	if len(outcomes) != 1 || outcomes[0].Outcome != rulelog.Skipped || !strings.Contains(outcomes[0].Reason, "max_body_bytes") {
		t.Errorf("oversize outcome %+v", outcomes)
	}
}

func TestRulePausedAfterFailuresInARow(t *testing.T) {
	h := newHarness(t, func(a *activities.Activities) { a.PauseAfterFailures = 2 })
	rcv := newReceiver(t)
	rule := h.rule(t, rcv.srv.URL+"/404?secret=pause")

	first := h.deliverRuns(t, "deliver-1-"+rule.String(), workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, RunIDs: h.addRuns(t, 1, 10)}})
	if first.Failed != 1 || first.Paused {
		t.Fatalf("first %+v", first)
	}
	second := h.deliverRuns(t, "deliver-2-"+rule.String(), workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, RunIDs: h.addRuns(t, 1, 10)}})
	if second.Failed != 1 || !second.Paused {
		t.Fatalf("second %+v: want the rule paused after 2 failures in a row", second)
	}
	pause, ok, err := h.store.LatestPause(context.Background(), rule)
	if err != nil || !ok || !pause.Paused || pause.Failures != 2 || !strings.Contains(pause.Reason, "2 deliveries failed in a row") {
		t.Fatalf("pause %+v %v %v", pause, ok, err)
	}
	if strings.Contains(pause.Reason, "secret=pause") {
		t.Errorf("pause reason shows the secret: %s", pause.Reason)
	}
	third := h.deliverRuns(t, "deliver-3-"+rule.String(), workflows.DeliverRunsInput{Batch: activities.Batch{RuleID: rule, RunIDs: h.addRuns(t, 1, 10)}})
	if !third.Paused || third.RunsSkipped != 1 || third.Deliveries != 0 || rcv.count("/404") != 2 {
		t.Fatalf("third %+v, receiver saw %d: a paused rule must not send", third, rcv.count("/404"))
	}
}
