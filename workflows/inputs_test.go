package workflows_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/converter"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/workflows"
)

// sameJSON checks that old, a value of an input as it was declared before
// it embedded activities.Batch, goes through Temporal's data converter into
// a New and back to the same JSON object: histories and running workflows
// written before the change read the same after it, and the other way round.
func sameJSON[New any](t *testing.T, old any) New {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	p, err := dc.ToPayload(old)
	if err != nil {
		t.Fatal(err)
	}
	var in New
	if err := dc.FromPayload(p, &in); err != nil {
		t.Fatal(err)
	}
	back, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(p.Data, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back.Data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("JSON changed:\n old %s\n new %s", p.Data, back.Data)
	}
	return in
}

func testBatch() activities.Batch {
	return activities.Batch{RuleID: uuid.New(), WindowStart: time.Unix(1712280534, 5).UTC(), WindowEnd: time.Unix(1712280536, 0).UTC(),
		RunIDs: []uuid.UUID{uuid.New(), uuid.New()}}
}

var retry = workflows.RetrySettings{InitialInterval: 2 * time.Second, BackoffCoefficient: 3}

func TestDeliveryInputJSONUnchanged(t *testing.T) {
	b := testBatch()
	in := sameJSON[workflows.DeliveryInput](t, struct {
		DeliveryID   string
		RuleID       uuid.UUID
		WebhookIndex uint16
		WindowStart  time.Time
		WindowEnd    time.Time
		RunIDs       []uuid.UUID
		Retry        workflows.RetrySettings
		HTTPTimeout  time.Duration
		RunWebhookOf uuid.UUID `json:",omitzero"`
	}{"d/b0/w1", b.RuleID, 1, b.WindowStart, b.WindowEnd, b.RunIDs, retry, 4 * time.Second, uuid.Nil})
	want := workflows.DeliveryInput{DeliveryID: "d/b0/w1", Batch: b, WebhookIndex: 1, Retry: retry, HTTPTimeout: 4 * time.Second}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("decoded %+v, want %+v", in, want)
	}
}

func TestDeliverRunsInputJSONUnchanged(t *testing.T) {
	b := testBatch()
	in := sameJSON[workflows.DeliverRunsInput](t, struct {
		RuleID      uuid.UUID
		RuleName    string
		WindowStart time.Time
		WindowEnd   time.Time
		RunIDs      []uuid.UUID
		MaxRuns     int
		Retry       workflows.RetrySettings
		HTTPTimeout time.Duration
		Webhooks    []uint16 `json:",omitempty"`
	}{b.RuleID, "r", b.WindowStart, b.WindowEnd, b.RunIDs, 5, retry, time.Second, []uint16{2}})
	want := workflows.DeliverRunsInput{Batch: b, RuleName: "r", MaxRuns: 5, Retry: retry, HTTPTimeout: time.Second, Webhooks: []uint16{2}}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("decoded %+v, want %+v", in, want)
	}
}

func TestWaitInputJSONUnchanged(t *testing.T) {
	b := testBatch()
	deadline := time.Unix(1712290000, 0).UTC()
	in := sameJSON[workflows.WaitInput](t, struct {
		RuleID      uuid.UUID
		RuleName    string
		WindowStart time.Time
		WindowEnd   time.Time
		RunIDs      []uuid.UUID
		Require     []string
		Wait        time.Duration
		OnTimeout   string
		MaxRuns     int
		Retry       workflows.RetrySettings
		HTTPTimeout time.Duration
		Deadline    time.Time `json:",omitempty"`
		Round       int       `json:",omitempty"`
	}{b.RuleID, "r", b.WindowStart, b.WindowEnd, b.RunIDs, []string{"usefulness"}, time.Hour, "skip", 3, retry, time.Second, deadline, 2})
	want := workflows.WaitInput{Batch: b, RuleName: "r", Require: []string{"usefulness"}, Wait: time.Hour, OnTimeout: "skip",
		MaxRuns: 3, Retry: retry, HTTPTimeout: time.Second, Deadline: deadline, Round: 2}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("decoded %+v, want %+v", in, want)
	}
}
