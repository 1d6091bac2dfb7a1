package activities

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sameJSON checks that old, a value of an input as it was declared before
// it embedded Batch, decodes into a New and encodes back to the same JSON
// object, so histories written by either replay with the other.
func sameJSON[New any](t *testing.T, old any) New {
	t.Helper()
	raw, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	var in New
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	back, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("JSON changed:\n old %s\n new %s", raw, back)
	}
	return in
}

func testBatch() Batch {
	return Batch{RuleID: uuid.New(), WindowStart: time.Unix(1712280534, 5).UTC(), WindowEnd: time.Unix(1712280536, 0).UTC(),
		RunIDs: []uuid.UUID{uuid.New(), uuid.New()}}
}

func TestPlanInputJSONUnchanged(t *testing.T) {
	b := testBatch()
	in := sameJSON[PlanInput](t, struct {
		RuleID      uuid.UUID
		WindowStart time.Time
		WindowEnd   time.Time
		RunIDs      []uuid.UUID
		MaxRuns     int
		Webhooks    []uint16
	}{b.RuleID, b.WindowStart, b.WindowEnd, b.RunIDs, 7, []uint16{1, 3}})
	if !reflect.DeepEqual(in, PlanInput{Batch: b, MaxRuns: 7, Webhooks: []uint16{1, 3}}) {
		t.Fatalf("decoded %+v", in)
	}
}

func TestDeliverInputJSONUnchanged(t *testing.T) {
	b := testBatch()
	run := uuid.New()
	for _, old := range []struct {
		DeliveryID   string
		RuleID       uuid.UUID
		WebhookIndex uint16
		WindowStart  time.Time
		WindowEnd    time.Time
		RunIDs       []uuid.UUID
		RunWebhookOf uuid.UUID `json:",omitzero"`
		Record       bool      `json:",omitempty"`
	}{
		{"d/b0/w2", b.RuleID, 2, b.WindowStart, b.WindowEnd, b.RunIDs, uuid.Nil, true},
		{"run-webhook/x/delivery", uuid.Nil, 0, time.Time{}, time.Time{}, []uuid.UUID{run}, run, false},
	} {
		in := sameJSON[DeliverInput](t, old)
		want := DeliverInput{DeliveryID: old.DeliveryID, WebhookIndex: old.WebhookIndex, RunWebhookOf: old.RunWebhookOf, Record: old.Record,
			Batch: Batch{RuleID: old.RuleID, WindowStart: old.WindowStart, WindowEnd: old.WindowEnd, RunIDs: old.RunIDs}}
		if !reflect.DeepEqual(in, want) {
			t.Fatalf("decoded %+v, want %+v", in, want)
		}
	}
}
