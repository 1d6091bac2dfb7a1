package activities

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
)

func TestCheckRunWebhook(t *testing.T) {
	s := newFakeStore()
	a := &Activities{Store: s}
	ctx := context.Background()
	done, ended, pending := uuid.New(), uuid.New(), uuid.New()
	s.outcomes = []clickhouse.Outcome{{RuleID: rulelog.RunWebhookRuleID(), RunID: done, Outcome: rulelog.Delivered},
		{RuleID: uuid.New(), RunID: ended, Outcome: rulelog.Delivered}} // a rule's outcome is not the run webhook's
	s.ended[done], s.ended[ended], s.ended[pending] = true, true, false

	for run, want := range map[uuid.UUID]RunWebhookState{
		done:       {Done: true, Outcome: rulelog.Delivered},
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
