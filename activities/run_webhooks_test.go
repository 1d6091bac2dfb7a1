package activities

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/secrets"
)

func TestCheckRunWebhook(t *testing.T) {
	s := newFakeStore()
	a := &Activities{Store: s}
	ctx := context.Background()
	done, ended, pending := uuid.New(), uuid.New(), uuid.New()
	s.outcomes = []clickhouse.Outcome{{RuleID: clickhouse.RunWebhookRuleID, RunID: done, Outcome: clickhouse.OutcomeDelivered},
		{RuleID: uuid.New(), RunID: ended, Outcome: clickhouse.OutcomeDelivered}} // a rule's outcome is not the run webhook's
	s.ended[done], s.ended[ended], s.ended[pending] = true, true, false

	for run, want := range map[uuid.UUID]RunWebhookState{
		done:       {Done: true, Outcome: clickhouse.OutcomeDelivered},
		ended:      {Ended: true},
		pending:    {},
		uuid.New(): {}, // not stored yet
	} {
		if got, err := a.CheckRunWebhook(ctx, RunRef{RunID: run}); err != nil || got != want {
			t.Errorf("run %s: %+v, %v; want %+v", run, got, err, want)
		}
	}

	got, err := a.CheckRunWebhooks(ctx, RunRefs{RunIDs: []uuid.UUID{pending, done, ended}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Done, []uuid.UUID{done}) || !slices.Equal(got.Ended, []uuid.UUID{ended}) || !slices.Equal(got.Waiting, []uuid.UUID{pending}) {
		t.Fatalf("state %+v", got)
	}
}

func TestRunWebhookURLOpensForItsRunOnly(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	run := uuid.New()
	const url = "https://hooks.example/h?token=secret-token"
	w, err := SealRunWebhook(box, run, url, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w.URLSealed, "secret-token") || strings.Contains(w.URLRedacted, "secret-token") || w.KeyID != box.CurrentKeyID() {
		t.Fatalf("sealed %+v", w)
	}
	if got, err := OpenRunWebhook(box, w); err != nil || got != url {
		t.Fatalf("opened %q, %v", got, err)
	}
	w.RunID = uuid.New() // copied to another run's row
	if _, err := OpenRunWebhook(box, w); err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("another run opened it, or the error shows the URL: %v", err)
	}
	if _, err := SealRunWebhook(nil, run, url, time.Now()); err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("sealed without a key: %v", err)
	}
}
