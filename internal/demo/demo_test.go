package demo_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/demo"
	"github.com/runhook/runhook/internal/filter"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// fastClock jumps ahead by whatever is waited for, so a minute of demo runs
// as fast as its writes. onWait, if set, sees each wait and may stop it.
type fastClock struct {
	mu     sync.Mutex
	now    time.Time
	waits  int
	onWait func(n int) (block bool)
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fastClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits++
	if c.onWait != nil && c.onWait(c.waits) {
		return nil
	}
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// memStore records the writes, one slice per call.
type memStore struct {
	runs     [][]runs.Run
	feedback [][]runs.Feedback
}

func (s *memStore) InsertRuns(_ context.Context, rs []runs.Run) error {
	s.runs = append(s.runs, rs)
	return nil
}

func (s *memStore) InsertFeedback(_ context.Context, fs []runs.Feedback) error {
	s.feedback = append(s.feedback, fs)
	return nil
}

func TestRunWritesBothVersionsThenScores(t *testing.T) {
	store := &memStore{}
	var out bytes.Buffer
	clock := &fastClock{now: t0}
	total, err := demo.Run(context.Background(), store, demo.Options{
		Every: 2 * time.Second, Traces: 3, Duration: time.Minute, Seed: 1, Clock: clock, Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if total.Batches != 31 || total.Traces != 93 || clock.Now() != t0.Add(time.Minute) {
		t.Fatalf("totals %+v, clock at %s", total, clock.Now())
	}
	// Every run is written once started and once finished, the start first,
	// and the finished version is the newer.
	started, finished := map[uuid.UUID]runs.Run{}, map[uuid.UUID]runs.Run{}
	roots := map[uuid.UUID]runs.Run{}
	for _, batch := range store.runs {
		for _, r := range batch {
			if r.SessionID != demo.Project {
				t.Fatalf("run in project %s", r.SessionID)
			}
			if r.EndTime == nil {
				if _, ok := finished[r.ID]; ok {
					t.Fatalf("%s: started version after the finished one", r)
				}
				started[r.ID] = r
				continue
			}
			if _, ok := started[r.ID]; !ok {
				t.Fatalf("%s: finished version without a started one before it", r)
			}
			if !r.ModifiedAt.After(started[r.ID].ModifiedAt) {
				t.Fatalf("%s: finished version is not newer", r)
			}
			finished[r.ID] = r
			if r.IsRoot {
				roots[r.ID] = r
			}
		}
	}
	if len(started) != len(finished) || total.Finished != len(finished) || total.Started != len(started) || len(roots) != total.Traces {
		t.Fatalf("%d started, %d finished, %d roots; totals %+v", len(started), len(finished), len(roots), total)
	}
	scores := 0
	for _, batch := range store.feedback {
		for _, f := range batch {
			scores++
			if _, ok := roots[f.RunID]; !ok {
				t.Fatalf("score on %s, not a finished root", f.RunID)
			}
		}
	}
	if scores != total.Feedback || scores == 0 || total.DroppedFeedback == 0 || total.Errors == 0 || total.SlowLLM == 0 {
		t.Fatalf("%d scores written; totals %+v", scores, total)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1+31+1 || !strings.Contains(lines[1], "batch 1: +3 traces; runs ") || !strings.HasPrefix(lines[len(lines)-1], "demo stopped after 31 batches: 93 traces") {
		t.Fatalf("output:\n%s", out.String())
	}
	t.Logf("output:\n%s", out.String())
}

func TestRunIsDeterministic(t *testing.T) {
	run := func() *memStore {
		store := &memStore{}
		if _, err := demo.Run(context.Background(), store, demo.Options{Duration: 20 * time.Second, Seed: 5, Clock: &fastClock{now: t0}}); err != nil {
			t.Fatal(err)
		}
		return store
	}
	a, b := run(), run()
	if len(a.runs) == 0 || len(a.runs) != len(b.runs) || len(a.feedback) != len(b.feedback) {
		t.Fatalf("%d and %d run writes", len(a.runs), len(b.runs))
	}
	for i := range a.runs {
		for j := range a.runs[i] {
			if a.runs[i][j].ID != b.runs[i][j].ID || !a.runs[i][j].ModifiedAt.Equal(b.runs[i][j].ModifiedAt) {
				t.Fatalf("write %d.%d differs", i, j)
			}
		}
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := &fastClock{now: t0, onWait: func(n int) bool {
		if n == 5 {
			cancel() // as SIGINT does, while the demo waits for its next batch
			return true
		}
		return false
	}}
	store := &memStore{}
	var out bytes.Buffer
	total, err := demo.Run(ctx, store, demo.Options{Seed: 2, Clock: clock, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if total.Batches != 5 || total.Started != total.Finished || total.FinishedEarly == 0 {
		t.Fatalf("totals %+v", total)
	}
	if !strings.Contains(out.String(), "demo stopped after 5 batches") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// The demo against ClickHouse gives both example rules (examples/rules.yaml)
// something to match, read the way the rules read it.
func TestDemoFeedsTheExampleRules(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	project := uuid.New()
	// The demo's clock starts an hour back and jumps, so a minute of traffic
	// is written in well under a second of real time.
	clock := &fastClock{now: time.Now().UTC().Add(-time.Hour)}
	total, err := demo.Run(ctx, store, demo.Options{
		Project: project, Every: 2 * time.Second, Traces: 3, Duration: time.Minute, Seed: 3, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := store.CountRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || int(n) != total.Finished {
		t.Fatalf("%d runs stored, %d finished", n, total.Finished)
	}

	now, err := store.ServerNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := clickhouse.Window{After: now.Add(-time.Hour), UpTo: now.Add(time.Hour)}
	match := func(src, traceSrc string) []uuid.UUID {
		t.Helper()
		m := clickhouse.Match{RuleID: uuid.New(), Project: project, Window: w, SamplingRate: 1, Owner: "test", Limit: 100000}
		parse := func(src string) filter.Expr {
			if src == "" {
				return nil
			}
			e, err := filter.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		m.Filter, m.TraceFilter = parse(src), parse(traceSrc)
		ids, err := store.MatchRuns(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}

	all := match("", "")
	if len(all) != total.Finished {
		t.Fatalf("%d completed runs match an empty filter, %d finished", len(all), total.Finished)
	}
	slow := match(`and(eq(run_type, "llm"), gt(latency, "0.5s"))`, `eq(name, "qa_agent")`)
	if len(slow) == 0 || len(slow) != total.SlowLLM {
		t.Fatalf("slow-llm-calls matches %d runs, the demo wrote %d slow llm calls in qa_agent traces", len(slow), total.SlowLLM)
	}
	latest, err := store.LatestRuns(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range latest {
		if r.RunType != "llm" || demo.Latency(r) <= demo.SlowLLM {
			t.Fatalf("slow-llm-calls matched %s taking %s", r, demo.Latency(r))
		}
	}

	answers := match(`and(eq(is_root, true), eq(name, "qa_agent"))`, "")
	scored, err := store.Ready(ctx, answers, []string{demo.FeedbackKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) == 0 || len(scored) == 0 || len(scored) > total.Feedback {
		t.Fatalf("scored-answers: %d qa_agent roots, %d scored with %s; the demo wrote %d scores", len(answers), len(scored), demo.FeedbackKey, total.Feedback)
	}
	fb, err := store.FeedbackForRuns(ctx, scored)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fb {
		if f.Key != demo.FeedbackKey || *f.Score < 0 || *f.Score > 1 || string(f.Source) != `{"type":"model"}` {
			t.Fatalf("feedback %+v", f)
		}
	}
	t.Logf("%+v; slow-llm-calls %d, scored-answers %d of %d", total, len(slow), len(scored), len(answers))
}
