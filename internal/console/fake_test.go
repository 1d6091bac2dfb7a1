package console

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/schedules"
)

// fakeStore holds a few rules and their records in memory.
type fakeStore struct {
	mu       sync.Mutex
	rules    []clickhouse.StoredRule
	pauses   []clickhouse.Pause
	log      map[uuid.UUID][]clickhouse.LogEntry
	attempts map[string][]clickhouse.Attempt
	outcomes []clickhouse.Outcome
	hooks    map[uuid.UUID]clickhouse.RunWebhook
	failed   map[uint16][]uuid.UUID
}

func (f *fakeStore) Rules(context.Context) ([]clickhouse.StoredRule, error) { return f.rules, nil }
func (f *fakeStore) Rule(_ context.Context, id uuid.UUID) (clickhouse.StoredRule, bool, error) {
	for _, r := range f.rules {
		if r.ID == id {
			return r, true, nil
		}
	}
	return clickhouse.StoredRule{}, false, nil
}
func (f *fakeStore) LatestPause(_ context.Context, id uuid.UUID) (clickhouse.Pause, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.pauses) - 1; i >= 0; i-- {
		if f.pauses[i].RuleID == id {
			return f.pauses[i], true, nil
		}
	}
	return clickhouse.Pause{}, false, nil
}
func (f *fakeStore) RecordPause(_ context.Context, p clickhouse.Pause) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pauses = append(f.pauses, p)
	return nil
}
func (f *fakeStore) LastOutcome(_ context.Context, id uuid.UUID) (clickhouse.Outcome, bool, error) {
	var last clickhouse.Outcome
	found := false
	for _, o := range f.outcomes {
		if o.RuleID == id && (!found || o.At.After(last.At)) {
			last, found = o, true
		}
	}
	return last, found, nil
}
func (f *fakeStore) ConsecutiveFailedDeliveries(_ context.Context, id uuid.UUID, _ time.Time, atMost int) (int, error) {
	n := 0
	for _, o := range f.outcomes {
		if o.RuleID == id && o.Outcome == "failed" {
			n++
		}
	}
	return min(n, atMost), nil
}
func (f *fakeStore) Outcomes(_ context.Context, id uuid.UUID, runIDs []uuid.UUID) ([]clickhouse.Outcome, error) {
	var out []clickhouse.Outcome
	for _, o := range f.outcomes {
		for _, r := range runIDs {
			if o.RuleID == id && o.RunID == r {
				out = append(out, o)
			}
		}
	}
	return out, nil
}
func (f *fakeStore) RuleLog(_ context.Context, id uuid.UUID, limit int) ([]clickhouse.LogEntry, error) {
	l := f.log[id]
	return l[:min(limit, len(l))], nil
}
func (f *fakeStore) RuleLogOfRun(_ context.Context, id, run uuid.UUID, limit int) ([]clickhouse.LogEntry, error) {
	var out []clickhouse.LogEntry
	for _, e := range f.log[id] {
		if e.RunID == run && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}
func (f *fakeStore) AttemptsSince(_ context.Context, _ uuid.UUID, _ time.Time, deliveryID string) ([]clickhouse.Attempt, error) {
	return f.attempts[deliveryID], nil
}
func (f *fakeStore) RunWebhooks(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]clickhouse.RunWebhook, error) {
	out := map[uuid.UUID]clickhouse.RunWebhook{}
	for _, id := range ids {
		if h, ok := f.hooks[id]; ok {
			out[id] = h
		}
	}
	return out, nil
}
func (f *fakeStore) Failed(context.Context, uuid.UUID, int) (map[uint16][]uuid.UUID, error) {
	return f.failed, nil
}
func (f *fakeStore) ServerNow(context.Context) (time.Time, error) { return time.Now(), nil }
func (f *fakeStore) MatchRuns(context.Context, clickhouse.Match) ([]uuid.UUID, error) {
	return nil, nil
}
func (f *fakeStore) Ready(context.Context, []uuid.UUID, []string) ([]uuid.UUID, error) {
	return nil, nil
}
func (f *fakeStore) LatestRuns(context.Context, []uuid.UUID) ([]runs.Run, error) { return nil, nil }

// fakeSchedules is every rule's schedule, existing and unpaused until told.
type fakeSchedules struct {
	mu        sync.Mutex
	paused    map[uuid.UUID]bool
	triggered []uuid.UUID
}

func (s *fakeSchedules) Get(_ context.Context, id uuid.UUID) (schedules.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return schedules.State{Exists: true, Interval: time.Minute, Paused: s.paused[id], TaskQueue: "q",
		Next: []time.Time{time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)}}, nil
}
func (s *fakeSchedules) Pause(_ context.Context, id uuid.UUID, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused[id] = true
	return nil
}
func (s *fakeSchedules) Unpause(_ context.Context, id uuid.UUID, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused[id] = false
	return nil
}
func (s *fakeSchedules) Trigger(_ context.Context, id uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.triggered = append(s.triggered, id)
	return nil
}

type fakeStarter struct{ started []ruleops.Redelivery }

func (s *fakeStarter) StartRedelivery(_ context.Context, d ruleops.Redelivery) (string, error) {
	s.started = append(s.started, d)
	return "redeliver-1", nil
}
