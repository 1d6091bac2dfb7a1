package ruleops_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// stagedStore answers each stage of a preview with its own runs, and
// records the matches asked.
type stagedStore struct {
	now                                  time.Time
	filtered, traced, sampled, unclaimed []uuid.UUID
	ready                                []uuid.UUID
	asked                                []clickhouse.Match
}

func (s *stagedStore) ServerNow(context.Context) (time.Time, error) { return s.now, nil }

func (s *stagedStore) MatchRuns(_ context.Context, m clickhouse.Match) ([]uuid.UUID, error) {
	s.asked = append(s.asked, m)
	switch {
	case !m.KeepClaimed:
		return s.unclaimed, nil
	case m.SamplingRate < 1:
		return s.sampled, nil
	case m.TraceFilter != nil:
		return s.traced, nil
	}
	return s.filtered, nil
}

func (s *stagedStore) Ready(_ context.Context, ids []uuid.UUID, _ []string) ([]uuid.UUID, error) {
	var out []uuid.UUID
	for _, id := range ids {
		if slices.Contains(s.ready, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *stagedStore) LatestRuns(_ context.Context, ids []uuid.UUID) ([]runs.Run, error) {
	out := make([]runs.Run, len(ids))
	for i, id := range ids {
		out[i] = runs.Run{ID: id, Name: "run-" + id.String()[:4], StartTime: s.now.Add(-time.Minute)}
	}
	return out, nil
}

func ids(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	return out
}

// Each stage is the tick's match with the later stages left out: the
// filter alone, then the trace filter, then the sampling, then the claims.
func TestPreviewCountsEachStage(t *testing.T) {
	all := ids(6)
	now := time.Date(2026, 12, 5, 10, 0, 0, 500, time.UTC)
	s := &stagedStore{now: now, filtered: all, traced: all[:4], sampled: all[:3], unclaimed: all[1:3], ready: all[:1]}
	spec := rules.Spec{ID: uuid.New(), Name: "r", Project: uuid.New(), Filter: `eq(run_type, "llm")`, TraceFilter: `eq(name, "agent")`,
		SamplingRate: 0.5, Feedback: rules.Feedback{Require: []string{"correctness"}, Wait: time.Hour, OnTimeout: "skip"}}
	p, err := ruleops.Preview(context.Background(), s, spec, ruleops.PreviewOptions{Since: time.Hour, Limit: 2, SettleLag: time.Second, Recent: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if p.Filtered != 6 || p.Traced != 4 || p.Sampled != 3 || p.Unclaimed != 2 || p.Ready != 1 || p.Waiting != 2 {
		t.Fatalf("counts %+v", p)
	}
	end := time.Date(2026, 12, 5, 9, 59, 59, 0, time.UTC)
	if !p.Window.UpTo.Equal(end) || !p.Window.After.Equal(end.Add(-time.Hour)) {
		t.Fatalf("window %+v, want the hour to %s", p.Window, end)
	}
	want := []ruleops.Pick{
		{ID: all[0], Name: "run-" + all[0].String()[:4], StartTime: now.Add(-time.Minute), Claimed: true},
		{ID: all[1], Name: "run-" + all[1].String()[:4], StartTime: now.Add(-time.Minute), Waiting: true},
	}
	if !slices.Equal(p.Runs, want) {
		t.Fatalf("runs %+v\nwant %+v", p.Runs, want)
	}
	if len(s.asked) != 4 {
		t.Fatalf("%d matches asked, want one per stage", len(s.asked))
	}
	for _, m := range s.asked {
		if m.RuleID != spec.ID || m.Project != spec.Project || m.Window != p.Window || m.Filter == nil ||
			m.Recent != 15*time.Minute || m.Owner != "preview" {
			t.Errorf("match %+v is not the rule's", m)
		}
	}
}

// A rule with no trace filter, no sampling and no gate asks one match for
// the counts and one for the claims.
func TestPreviewSkipsStagesTheRuleLacks(t *testing.T) {
	all := ids(3)
	s := &stagedStore{now: time.Now(), filtered: all, unclaimed: all}
	p, err := ruleops.Preview(context.Background(), s, rules.Spec{ID: uuid.New(), SamplingRate: 1}, ruleops.PreviewOptions{Since: time.Hour, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if p.Filtered != 3 || p.Traced != 3 || p.Sampled != 3 || p.Unclaimed != 3 || p.Ready != 0 || p.Waiting != 0 || len(p.Runs) != 3 {
		t.Fatalf("preview %+v", p)
	}
	if len(s.asked) != 2 {
		t.Fatalf("%d matches asked, want 2", len(s.asked))
	}
}

func TestPreviewRefuses(t *testing.T) {
	s := &stagedStore{now: time.Now()}
	for _, c := range []struct {
		spec rules.Spec
		opts ruleops.PreviewOptions
		want string
	}{
		{rules.Spec{Name: "r", SamplingRate: 1}, ruleops.PreviewOptions{Since: 0}, "--since must be positive"},
		{rules.Spec{Name: "r", SamplingRate: 1, Filter: "eq(name"}, ruleops.PreviewOptions{Since: time.Hour}, `rule "r": filter:`},
		{rules.Spec{Name: "r", SamplingRate: 1, TraceFilter: "nope"}, ruleops.PreviewOptions{Since: time.Hour}, `rule "r": trace_filter:`},
	} {
		if _, err := ruleops.Preview(context.Background(), s, c.spec, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.spec, err, c.want)
		}
	}
}

func previewRun(project uuid.UUID, name string, trace uuid.UUID) runs.Run {
	id := uuid.New()
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	end := start.Add(time.Second)
	if trace == uuid.Nil {
		trace = id
	}
	return runs.Run{ID: id, TraceID: trace, SessionID: project, Name: name, RunType: "llm", Status: "success",
		IsRoot: trace == id, StartTime: start, EndTime: &end, ModifiedAt: end}
}

// On the real ClickHouse, a preview counts what the filters and sampling
// pick, knows the runs the rule claimed and the feedback they carry, and
// leaves every table as it found it.
func TestPreviewAgainstTheStoreChangesNothing(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project := uuid.New()
	agent, other := previewRun(project, "agent", uuid.Nil), previewRun(project, "other", uuid.Nil)
	agent.RunType, other.RunType = "chain", "chain"
	stored := []runs.Run{agent, other}
	var calls []uuid.UUID
	for i := range 40 {
		root := agent
		if i%4 == 0 {
			root = other
		}
		r := previewRun(project, "call", root.ID)
		stored = append(stored, r)
		if root.ID == agent.ID {
			calls = append(calls, r.ID)
		}
	}
	if err := store.InsertRuns(ctx, stored); err != nil {
		t.Fatal(err)
	}
	score := 1.0
	if err := store.InsertFeedback(ctx, []runs.Feedback{{ID: uuid.New(), RunID: calls[0], Key: "correctness", Score: &score,
		CreatedAt: time.Now(), ModifiedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	spec := rules.Spec{ID: uuid.New(), Name: "preview", Project: project, Filter: `eq(run_type, "llm")`, TraceFilter: `eq(name, "agent")`,
		SamplingRate: 1, Feedback: rules.Feedback{Require: []string{"correctness"}, Wait: time.Hour, OnTimeout: "skip"}}
	if err := store.Claim(ctx, spec.ID, calls[:2], "tick/p0", time.Now()); err != nil {
		t.Fatal(err)
	}
	before := dump(t, store)

	opts := ruleops.PreviewOptions{Since: time.Hour, Limit: 50, Recent: 15 * time.Minute}
	p, err := ruleops.Preview(ctx, store, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Filtered != 40 || p.Traced != 30 || p.Sampled != 30 || p.Unclaimed != 28 || p.Ready != 1 || p.Waiting != 29 {
		t.Fatalf("counts %+v", p)
	}
	var got []uuid.UUID
	for _, r := range p.Runs {
		got = append(got, r.ID)
		if r.Name != "call" || r.StartTime.IsZero() || r.InsertedAt.IsZero() ||
			r.Claimed != slices.Contains(calls[:2], r.ID) || r.Waiting == (r.ID == calls[0]) {
			t.Errorf("pick %+v", r)
		}
	}
	if !slices.Equal(idSet(got), idSet(calls)) {
		t.Fatalf("picked %v, want the calls under the agent", got)
	}

	// Sampling at a half picks some of them, stably.
	spec.SamplingRate = 0.5
	half, err := ruleops.Preview(ctx, store, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if half.Traced != 30 || half.Sampled == 0 || half.Sampled == 30 {
		t.Fatalf("sampled counts %+v", half)
	}
	again, err := ruleops.Preview(ctx, store, spec, opts)
	if err != nil || again.Sampled != half.Sampled {
		t.Fatalf("sampled %d, then %d (%v)", half.Sampled, again.Sampled, err)
	}

	after := dump(t, store)
	if !maps.Equal(before, after) {
		for table := range before {
			if before[table] != after[table] {
				t.Errorf("table %s changed:\nbefore %s\nafter  %s", table, before[table], after[table])
			}
		}
		t.Fatal("a preview changed the store")
	}
}

func idSet(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	slices.Sort(out)
	return out
}

// dump is every table's rows as sorted text: a read returns parts in no
// set order.
func dump(t *testing.T, store *clickhouse.Store) map[string]string {
	t.Helper()
	tables, err := clickhousetest.DumpText(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	for name, rows := range tables {
		lines := strings.Split(rows, "\n")
		slices.Sort(lines)
		tables[name] = strings.Join(lines, "\n")
	}
	return tables
}
