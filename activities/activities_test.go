package activities

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/internal/runs"
)

var _ Store = (*clickhouse.Store)(nil)

// fakeStore keeps in memory what the activities under test read and write.
// The embedded Store is nil: an activity calling a method no test set up
// panics, which names the method.
type fakeStore struct {
	Store

	mu            sync.Mutex
	rules         map[uuid.UUID]clickhouse.StoredRule
	pauses        []clickhouse.Pause
	webhooks      []clickhouse.Webhook
	runs          map[uuid.UUID]runs.Run
	ended         map[uuid.UUID]bool
	ready         map[uuid.UUID]bool
	now           time.Time
	match         []uuid.UUID // what MatchRuns finds
	matches       []clickhouse.Match
	claims        map[uuid.UUID]string // run: owner
	events        []clickhouse.Event
	attempts      []clickhouse.Attempt
	outcomes      []clickhouse.Outcome
	fills         []clickhouse.Backfill
	hooks         map[uuid.UUID]clickhouse.RunWebhook // run webhooks, by run
	parts         []retention.Partition
	dropFail      string // DropPartition fails for this table
	webhookPauses []clickhouse.WebhookPause
}

func newFakeStore() *fakeStore {
	return &fakeStore{rules: map[uuid.UUID]clickhouse.StoredRule{}, runs: map[uuid.UUID]runs.Run{}, ended: map[uuid.UUID]bool{},
		ready: map[uuid.UUID]bool{}, claims: map[uuid.UUID]string{}, hooks: map[uuid.UUID]clickhouse.RunWebhook{}}
}

func (f *fakeStore) ServerVersion(context.Context) (string, error) { return "18.16.1", nil }
func (f *fakeStore) Database() string                              { return "fake" }
func (f *fakeStore) CountRuns(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.runs)), nil
}

func (f *fakeStore) Rule(_ context.Context, id uuid.UUID) (clickhouse.StoredRule, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rules[id]
	return r, ok, nil
}

func (f *fakeStore) LatestPause(_ context.Context, rule uuid.UUID) (clickhouse.Pause, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range slices.Backward(f.pauses) {
		if p.RuleID == rule {
			return p, true, nil
		}
	}
	return clickhouse.Pause{}, false, nil
}

func (f *fakeStore) Webhooks(_ context.Context, rule uuid.UUID) ([]clickhouse.Webhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []clickhouse.Webhook
	for _, w := range f.webhooks {
		if w.RuleID == rule {
			out = append(out, w)
		}
	}
	return out, nil
}

func (f *fakeStore) Webhook(ctx context.Context, rule uuid.UUID, idx uint16) (clickhouse.Webhook, bool, error) {
	hooks, _ := f.Webhooks(ctx, rule)
	i := slices.IndexFunc(hooks, func(w clickhouse.Webhook) bool { return w.Index == idx })
	if i < 0 {
		return clickhouse.Webhook{}, false, nil
	}
	return hooks[i], true, nil
}

func (f *fakeStore) RunWebhook(_ context.Context, run uuid.UUID) (clickhouse.RunWebhook, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.hooks[run]
	return w, ok, nil
}

func (f *fakeStore) LatestRuns(_ context.Context, ids []uuid.UUID) ([]runs.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runs.Run
	for _, id := range ids {
		if r, ok := f.runs[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// RunSizes leaves every size unknown, as for runs stored before sizes
// were, so the plan measures the runs.
func (f *fakeStore) RunSizes(_ context.Context, ids []uuid.UUID) ([]runs.Size, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runs.Size
	for _, id := range ids {
		if _, ok := f.runs[id]; ok {
			out = append(out, runs.Size{ID: id})
		}
	}
	return out, nil
}

func (f *fakeStore) FeedbackStats(context.Context, []uuid.UUID) (map[uuid.UUID]runs.FeedbackStats, runs.FeedbackStats, error) {
	return nil, nil, nil
}

func (f *fakeStore) ServerNow(context.Context) (time.Time, error) { return f.now, nil }

func (f *fakeStore) MatchRuns(_ context.Context, m clickhouse.Match) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.matches = append(f.matches, m)
	var out []uuid.UUID
	for _, id := range f.match {
		if owner, ok := f.claims[id]; (!ok || owner == m.Owner) && len(out) < m.Limit {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *fakeStore) Claim(_ context.Context, _ uuid.UUID, ids []uuid.UUID, owner string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.claims[id] = owner
	}
	return nil
}

func (f *fakeStore) RecordEvents(_ context.Context, events []clickhouse.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, events...)
	return nil
}

func (f *fakeStore) Ready(_ context.Context, ids []uuid.UUID, _ []string) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(ids), func(id uuid.UUID) bool { return !f.ready[id] }), nil
}

func (f *fakeStore) Backfills(_ context.Context, rule uuid.UUID) ([]clickhouse.Backfill, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(f.fills), func(b clickhouse.Backfill) bool { return b.RuleID != rule }), nil
}

func (f *fakeStore) PutBackfill(_ context.Context, b clickhouse.Backfill) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.fills, func(o clickhouse.Backfill) bool { return o.RuleID == b.RuleID && o.ID == b.ID })
	if i < 0 {
		f.fills = append(f.fills, b)
	} else {
		f.fills[i] = b
	}
	return nil
}

func (f *fakeStore) RecordAttempt(_ context.Context, a clickhouse.Attempt) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, a)
	return nil
}

func (f *fakeStore) AttemptsSince(_ context.Context, rule uuid.UUID, since time.Time, delivery string) ([]clickhouse.Attempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(f.attempts), func(a clickhouse.Attempt) bool {
		return a.RuleID != rule || a.DeliveryID != delivery || a.StartedAt.Before(since)
	}), nil
}

func (f *fakeStore) RecordOutcomes(_ context.Context, outcomes []clickhouse.Outcome) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcomes = append(f.outcomes, outcomes...)
	return nil
}

func (f *fakeStore) Outcomes(_ context.Context, rule uuid.UUID, ids []uuid.UUID) ([]clickhouse.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(f.outcomes), func(o clickhouse.Outcome) bool {
		return o.RuleID != rule || !slices.Contains(ids, o.RunID)
	}), nil
}

func (f *fakeStore) RunEnded(_ context.Context, id uuid.UUID) (ended, found bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ended, found = f.ended[id]
	return ended, found, nil
}

func (f *fakeStore) RunsEnded(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[uuid.UUID]bool{}
	for _, id := range ids {
		if f.ended[id] {
			out[id] = true
		}
	}
	return out, nil
}

func (f *fakeStore) Timezone(context.Context) (string, error) { return "UTC", nil }

func (f *fakeStore) Partitions(_ context.Context, tables []string) ([]retention.Partition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(f.parts), func(p retention.Partition) bool { return !slices.Contains(tables, p.Table) }), nil
}

func (f *fakeStore) DropPartition(_ context.Context, table, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if table == f.dropFail {
		return fmt.Errorf("drop %s %s: refused", table, id)
	}
	f.parts = slices.DeleteFunc(f.parts, func(p retention.Partition) bool { return p.Table == table && p.ID == id })
	return nil
}

func TestCheckStorageReportsTheStore(t *testing.T) {
	s := newFakeStore()
	s.runs[uuid.New()] = runs.Run{}
	got, err := (&Activities{Store: s}).CheckStorage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.ServerVersion != "18.16.1" || got.Database != "fake" || got.Runs != 1 || got.Worker == "" {
		t.Fatalf("status %+v", got)
	}
}
