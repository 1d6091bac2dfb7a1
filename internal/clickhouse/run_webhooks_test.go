package clickhouse_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

func TestRunWebhooks(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	a, b, none := uuid.New(), uuid.New(), uuid.New()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	if err := store.PutRunWebhooks(ctx, []clickhouse.RunWebhook{
		{RunID: a, URLSealed: "rh1:k:first", URLRedacted: "https://h/a?token=***", KeyID: "k", CreatedAt: t0},
		{RunID: b, URLSealed: "rh1:k:b", URLRedacted: "https://h/b", KeyID: "k", CreatedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	// A client retrying its create writes the run's webhook again: the newest wins.
	if err := store.PutRunWebhooks(ctx, []clickhouse.RunWebhook{
		{RunID: a, URLSealed: "rh1:k:second", URLRedacted: "https://h/a2?token=***", KeyID: "k", CreatedAt: t0.Add(time.Millisecond), WorkflowID: "run-webhooks/x", Format: "langgraph"},
	}); err != nil {
		t.Fatal(err)
	}
	w, found, err := store.RunWebhook(ctx, a)
	if err != nil || !found {
		t.Fatalf("RunWebhook = %v, %v", found, err)
	}
	want := clickhouse.RunWebhook{RunID: a, URLSealed: "rh1:k:second", URLRedacted: "https://h/a2?token=***", KeyID: "k", CreatedAt: t0.Add(time.Millisecond), WorkflowID: "run-webhooks/x", Format: "langgraph"}
	if w != want {
		t.Errorf("RunWebhook = %+v\nwant %+v", w, want)
	}
	if _, found, err := store.RunWebhook(ctx, none); err != nil || found {
		t.Errorf("RunWebhook of a run without one = %v, %v", found, err)
	}

	got, err := store.RunWebhooks(ctx, []uuid.UUID{a, b, none, a})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a] != want || got[b].URLSealed != "rh1:k:b" || got[b].WorkflowID != "" || got[b].Format != "" {
		t.Errorf("RunWebhooks = %+v, want a's newest and b's", got)
	}
	if got, err := store.RunWebhooks(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("RunWebhooks(nil) = %v, %v", got, err)
	}

	if err := store.PutRunWebhooks(ctx, []clickhouse.RunWebhook{{RunID: a}}); err == nil {
		t.Error("a webhook without created_at was written")
	}
}

func TestRunEndedAndDocuments(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	seed, _ := seedRun(t)
	id := uuid.New()
	pending := seed
	pending.ID, pending.TraceID, pending.EndTime = id, id, nil
	pending.Status, pending.DottedOrder = "pending", runs.DottedOrderPart(seed.StartTime, id)
	pending.Inputs, pending.Outputs = json.RawMessage(`{"q": "  spaced  <&>"}`), nil
	pending.ModifiedAt = seed.StartTime
	if err := store.InsertRuns(ctx, []runs.Run{pending}); err != nil {
		t.Fatal(err)
	}
	if ended, found, err := store.RunEnded(ctx, id); err != nil || !found || ended {
		t.Errorf("pending run: ended=%v found=%v err=%v", ended, found, err)
	}
	if ended, found, err := store.RunEnded(ctx, uuid.New()); err != nil || found || ended {
		t.Errorf("unknown run: ended=%v found=%v err=%v", ended, found, err)
	}
	if doc, found, err := store.RunDocument(ctx, id, "outputs"); err != nil || !found || doc != nil {
		t.Errorf("null outputs = %q, %v, %v", doc, found, err)
	}

	done := pending
	end := seed.StartTime.Add(time.Second)
	done.EndTime, done.ModifiedAt, done.Status = &end, end, "success"
	done.Outputs = json.RawMessage(`{"a":1}`)
	if err := store.InsertRuns(ctx, []runs.Run{done}); err != nil {
		t.Fatal(err)
	}
	if ended, found, err := store.RunEnded(ctx, id); err != nil || !found || !ended {
		t.Errorf("ended run: ended=%v found=%v err=%v", ended, found, err)
	}
	for field, want := range map[string]string{"inputs": `{"q": "  spaced  <&>"}`, "outputs": `{"a":1}`} {
		doc, found, err := store.RunDocument(ctx, id, field)
		if err != nil || !found || string(doc) != want {
			t.Errorf("%s = %q, %v, %v; want %q byte for byte", field, doc, found, err, want)
		}
	}
	if _, found, err := store.RunDocument(ctx, uuid.New(), "inputs"); err != nil || found {
		t.Errorf("unknown run: found=%v err=%v", found, err)
	}
	if _, _, err := store.RunDocument(ctx, id, "extra"); err == nil {
		t.Error("a field other than inputs or outputs was read")
	}
}
