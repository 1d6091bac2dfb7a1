package activities

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/runs"
)

// addRun stores a run whose inputs are a string of n bytes.
func (f *fakeStore) addRun(n int) uuid.UUID {
	id := uuid.New()
	inputs, _ := json.Marshal(map[string]string{"q": strings.Repeat("x", n)})
	at := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	f.runs[id] = runs.Run{ID: id, TraceID: id, Name: "r", RunType: "llm", Status: "success", IsRoot: true, StartTime: at, ModifiedAt: at, Inputs: inputs}
	return id
}

func planInput(rule uuid.UUID, ids []uuid.UUID) PlanInput {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	return PlanInput{Batch: Batch{RuleID: rule, WindowStart: now.Add(-time.Minute), WindowEnd: now, RunIDs: ids}}
}

func TestPlanDeliveryBatchesRunsForEveryWebhook(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	s.webhooks = []clickhouse.Webhook{{RuleID: rule, Index: 0}, {RuleID: rule, Index: 1}, {RuleID: uuid.New(), Index: 0}}
	var ids []uuid.UUID
	for range 5 {
		ids = append(ids, s.addRun(10))
	}
	a := &Activities{Store: s, MaxRunsPerDelivery: 2, MaxBodyBytes: 1 << 20}

	plan, err := a.PlanDelivery(context.Background(), planInput(rule, ids))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Webhooks, []uint16{0, 1}) || plan.Paused || len(plan.Oversize) != 0 {
		t.Fatalf("plan %+v", plan)
	}
	if len(plan.Batches) != 3 || slices.Concat(plan.Batches...)[4] != ids[4] || len(plan.Batches[2]) != 1 {
		t.Fatalf("batches %v of %v: want 2, 2, 1 in order", plan.Batches, ids)
	}

	in := planInput(rule, ids)
	in.MaxRuns, in.Webhooks = 5, []uint16{1}
	if plan, err = a.PlanDelivery(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Webhooks, []uint16{1}) || len(plan.Batches) != 1 {
		t.Fatalf("redelivery to webhook 1 with max 5 runs: %+v", plan)
	}
}

func TestPlanDeliveryLeavesOversizeRunsOut(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	s.webhooks = []clickhouse.Webhook{{RuleID: rule, Index: 0}}
	small, big := s.addRun(10), s.addRun(8000)
	a := &Activities{Store: s, MaxRunsPerDelivery: 10, MaxBodyBytes: 4000}

	plan, err := a.PlanDelivery(context.Background(), planInput(rule, []uuid.UUID{small, big}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Oversize, []uuid.UUID{big}) || len(plan.Batches) != 1 || !slices.Equal(plan.Batches[0], []uuid.UUID{small}) {
		t.Fatalf("plan %+v: want the small run sent and the big one oversize", plan)
	}
}

func TestPlanDeliveryOfAPausedRuleSendsNothing(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	s.webhooks = []clickhouse.Webhook{{RuleID: rule, Index: 0}}
	s.pauses = []clickhouse.Pause{{RuleID: rule, Paused: true, Reason: "by hand"}}
	a := &Activities{Store: s, MaxRunsPerDelivery: 10, MaxBodyBytes: 1 << 20}

	plan, err := a.PlanDelivery(context.Background(), planInput(rule, []uuid.UUID{s.addRun(10)}))
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Paused || plan.PauseReason != "rule paused: by hand" || len(plan.Batches) != 0 {
		t.Fatalf("plan %+v", plan)
	}
}

// LangGraph's shape is one run per POST: a rule with such a webhook plans
// batches of one, for each of its webhooks; a redelivery to its others only
// batches as before.
func TestPlanDeliveryForALangGraphWebhookSendsRunsAlone(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	s.webhooks = []clickhouse.Webhook{{RuleID: rule, Index: 0}, {RuleID: rule, Index: 1, Format: "langgraph"}}
	ids := []uuid.UUID{s.addRun(10), s.addRun(10), s.addRun(10)}
	a := &Activities{Store: s, MaxRunsPerDelivery: 100, MaxBodyBytes: 1 << 20}

	plan, err := a.PlanDelivery(context.Background(), planInput(rule, ids))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Batches) != 3 || !slices.Equal(slices.Concat(plan.Batches...), ids) {
		t.Fatalf("batches %v: want each run alone, in order", plan.Batches)
	}
	in := planInput(rule, ids)
	in.Webhooks = []uint16{0}
	if plan, err = a.PlanDelivery(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(plan.Batches) != 1 {
		t.Fatalf("redelivery to the LangSmith webhook: batches %v, want one", plan.Batches)
	}
}
