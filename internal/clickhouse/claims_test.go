package clickhouse_test

import (
	"context"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// The claims anti-join reads the claims of the window's candidates, not every
// claim the rule ever made: a rule with 200,000 old claims costs the match
// about what one with none does.
func TestMatchClaimsReadIsBoundedByTheCandidates(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project, rule := uuid.New(), uuid.New()
	if err := store.InsertRuns(ctx, []runs.Run{matchRun(project, "a", true), matchRun(project, "b", true)}); err != nil {
		t.Fatal(err)
	}
	m := clickhouse.Match{RuleID: rule, Project: project, Window: wideWindow(t, store), SamplingRate: 1, Owner: "tick/p0", Limit: 100}
	read := func() uint64 {
		var n uint64
		pctx := ch.Context(ctx, ch.WithProgress(func(p *ch.Progress) { n += p.Rows }))
		if _, err := store.MatchRuns(pctx, m); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := read()
	old := make([]uuid.UUID, 200_000)
	for i := range old {
		old[i] = uuid.New()
	}
	if err := store.Claim(ctx, rule, old, "old-tick/p0", time.Now()); err != nil {
		t.Fatal(err)
	}
	after := read()
	// Each candidate costs at most a granule (8,192 rows) of each part the
	// claims were written in (two here); the whole history would be 200,000.
	if after > before+2*2*8192 {
		t.Errorf("match read %d rows with 200,000 old claims, %d with none: the claims read grows with history", after, before)
	}
	if got, err := store.MatchRuns(ctx, m); err != nil || len(got) != 2 {
		t.Errorf("match = %v, %v; want both runs", got, err)
	}
}
