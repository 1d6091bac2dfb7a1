package ruleops_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
)

// fakeStore is the ClickHouse store of a single rule, in memory.
type fakeStore struct {
	pauses    []clickhouse.Pause
	backfills []clickhouse.Backfill
	failures  int // failed deliveries in a row since the latest pause record
	failed    map[uint16][]uuid.UUID
	err       error // returned by every call

	sinceAsked time.Time
}

func (s *fakeStore) RecordPause(_ context.Context, p clickhouse.Pause) error {
	if s.err != nil {
		return s.err
	}
	s.pauses = append(s.pauses, p)
	return nil
}

func (s *fakeStore) LatestPause(_ context.Context, _ uuid.UUID) (clickhouse.Pause, bool, error) {
	if s.err != nil || len(s.pauses) == 0 {
		return clickhouse.Pause{}, false, s.err
	}
	return s.pauses[len(s.pauses)-1], true, nil
}

func (s *fakeStore) ConsecutiveFailedDeliveries(_ context.Context, _ uuid.UUID, since time.Time, atMost int) (int, error) {
	s.sinceAsked = since
	return min(s.failures, atMost), s.err
}

func (s *fakeStore) PutBackfill(_ context.Context, b clickhouse.Backfill) error {
	if s.err != nil {
		return s.err
	}
	s.backfills = append(s.backfills, b)
	return nil
}

func (s *fakeStore) Failed(_ context.Context, _ uuid.UUID, limit int) (map[uint16][]uuid.UUID, error) {
	return s.failed, s.err
}

// fakeSchedules records what was asked of the rule schedules, as lines.
type fakeSchedules struct {
	calls []string
	err   error
}

func (f *fakeSchedules) do(format string, args ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.err
}

func (f *fakeSchedules) Pause(_ context.Context, id uuid.UUID, note string) error {
	return f.do("pause %s: %s", id, note)
}

func (f *fakeSchedules) Unpause(_ context.Context, id uuid.UUID, note string) error {
	return f.do("unpause %s: %s", id, note)
}

func (f *fakeSchedules) Trigger(_ context.Context, id uuid.UUID) error {
	return f.do("trigger %s", id)
}

func (f *fakeSchedules) String() string { return strings.Join(f.calls, "\n") }

var errDown = errors.New("down")
