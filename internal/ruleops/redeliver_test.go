package ruleops_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
)

// fakeStarter starts workflows named after their webhook, and fails for
// the webhooks in failFor.
type fakeStarter struct {
	started []ruleops.Redelivery
	failFor []uint16
}

func (f *fakeStarter) StartRedelivery(_ context.Context, d ruleops.Redelivery) (string, error) {
	if slices.Contains(f.failFor, d.Webhook) {
		return "", errDown
	}
	f.started = append(f.started, d)
	return fmt.Sprintf("redeliver/w%d", d.Webhook), nil
}

// storedRule is a rule named errors; spec is its spec's JSON after its id,
// name and interval, or "" for a spec that does not parse.
func storedRule(spec string) clickhouse.StoredRule {
	id := uuid.New()
	if spec != "" {
		spec = fmt.Sprintf(`{"id": %q, "name": "errors", "interval": "1m"%s}`, id, spec)
	}
	return clickhouse.StoredRule{ID: id, Name: "errors", Spec: spec}
}

func TestRedeliverOneWorkflowPerWebhook(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	store := &fakeStore{failed: map[uint16][]uuid.UUID{2: {c}, 0: {a, b}}}
	start := &fakeStarter{}
	r := storedRule(`, "max_runs_per_delivery": 7`)
	at := time.Now()
	got, err := ruleops.Redeliver(context.Background(), store, start, r, 100, at)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, d := range got {
		lines = append(lines, fmt.Sprintf("%s %s w%d %v max %d at %v", d.WorkflowID, d.RuleName, d.Webhook, d.RunIDs, d.MaxRunsPerDelivery, d.At.Equal(at)))
	}
	want := fmt.Sprintf("redeliver/w0 errors w0 %v max 7 at true\nredeliver/w2 errors w2 %v max 7 at true", []uuid.UUID{a, b}, []uuid.UUID{c})
	if strings.Join(lines, "\n") != want {
		t.Fatalf("redeliveries:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
	if len(start.started) != 2 || start.started[0].RuleID != r.ID {
		t.Fatalf("started %+v", start.started)
	}
}

func TestRedeliverNothingFailed(t *testing.T) {
	start := &fakeStarter{}
	// Nothing failed: the spec is not even read.
	got, err := ruleops.Redeliver(context.Background(), &fakeStore{}, start, storedRule(""), 100, time.Now())
	if err != nil || len(got) != 0 || len(start.started) != 0 {
		t.Fatalf("%+v, %v", got, err)
	}
}

// The workflows started before one that did not start are still reported.
func TestRedeliverStopsAtTheFirstFailure(t *testing.T) {
	store := &fakeStore{failed: map[uint16][]uuid.UUID{0: {uuid.New()}, 1: {uuid.New()}, 2: {uuid.New()}}}
	start := &fakeStarter{failFor: []uint16{1}}
	got, err := ruleops.Redeliver(context.Background(), store, start, storedRule(`, "max_runs_per_delivery": 0`), 100, time.Now())
	if !errors.Is(err, errDown) || err.Error() != "start redelivery to webhook 1: down" {
		t.Fatalf("err = %v", err)
	}
	if len(got) != 1 || got[0].Webhook != 0 || len(start.started) != 1 {
		t.Fatalf("started %+v", got)
	}
}

func TestRedeliverBadSpec(t *testing.T) {
	store := &fakeStore{failed: map[uint16][]uuid.UUID{0: {uuid.New()}}}
	r := storedRule("")
	if _, err := ruleops.Redeliver(context.Background(), store, &fakeStarter{}, r, 100, time.Now()); err == nil || !strings.HasPrefix(err.Error(), "rule "+r.ID.String()+": ") {
		t.Fatalf("err = %v", err)
	}
}
