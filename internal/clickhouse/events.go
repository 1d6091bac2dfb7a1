package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
)

// Event is something that happened to a run for a rule before delivery.
type Event struct {
	RuleID     uuid.UUID
	RunID      uuid.UUID
	Event      string // rulelog.Matched, Waiting or TimedOut
	Reason     string
	At         time.Time
	WorkflowID string
}

// insertEventsSQL names its columns, as 18.16 batches need.
const insertEventsSQL = `INSERT INTO rule_events (rule_id, run_id, event, reason, at, workflow_id)`

// RecordEvents writes events, in one INSERT with the events other callers
// write at the same time.
func (s *Store) RecordEvents(ctx context.Context, events []Event) error {
	for _, e := range events {
		if _, err := micros("at", e.At); err != nil {
			return fmt.Errorf("record rule events: %w", err)
		}
	}
	if err := s.w.events.Write(ctx, events); err != nil {
		return fmt.Errorf("record rule events: %w", err)
	}
	return nil
}

func (s *Store) insertEvents(ctx context.Context, events []Event) error {
	return s.insertRows(ctx, insertEventsSQL, len(events), func(i int) ([]any, error) {
		e := events[i]
		at, err := micros("at", e.At)
		if err != nil {
			return nil, err
		}
		return []any{e.RuleID, e.RunID, e.Event, e.Reason, at, e.WorkflowID}, nil
	})
}

// LogEntry is one line of a rule's log: an event or a delivery outcome.
type LogEntry struct {
	At     time.Time
	RunID  uuid.UUID
	Event  string // matched, waiting, timed_out, delivered, failed, skipped
	Reason string
	// Where is the workflow (events) or delivery (outcomes) it came from.
	Where   string
	Webhook int // -1 for events
}

// ruleLogEvents and ruleLogOutcomes are a rule's events and delivery
// outcomes as log entries, each a range of its table's sort key by rule_id
// (rule_events: rule_id, at, run_id; delivery_outcomes: rule_id, run_id,
// webhook_idx). Arg: the rule.
const (
	ruleLogEvents = `SELECT at, run_id, event, reason, workflow_id AS where, toInt32(-1) AS webhook
    FROM rule_events
    WHERE rule_id = ?`
	ruleLogOutcomes = `SELECT at, run_id, outcome AS event, reason, delivery_id AS where, toInt32(webhook_idx) AS webhook
    FROM delivery_outcomes
    WHERE rule_id = ?`
)

// ruleLogSQL is a rule's log, newest first. Args: rule, rule, limit (as in
// "newest N").
const ruleLogSQL = `SELECT at, run_id, event, reason, where, webhook
FROM
(
    ` + ruleLogEvents + `
    UNION ALL
    ` + ruleLogOutcomes + `
)
ORDER BY at DESC, run_id
LIMIT ?`

// ruleLogOfRunSQL is one run's entries in a rule's log, newest first: its
// outcomes by their sort key, its events from the rule's range of
// rule_events, where run_id follows at in the key. Args: rule, run, rule,
// run, limit.
const ruleLogOfRunSQL = `SELECT at, run_id, event, reason, where, webhook
FROM
(
    ` + ruleLogEvents + ` AND run_id = ?
    UNION ALL
    ` + ruleLogOutcomes + ` AND run_id = ?
)
ORDER BY at DESC, webhook
LIMIT ?`

// RuleLog reads the newest limit entries of a rule's log, newest first.
func (s *Store) RuleLog(ctx context.Context, ruleID uuid.UUID, limit int) ([]LogEntry, error) {
	return s.ruleLog(ctx, ruleLogSQL, ruleID, ruleID, uint64(limit))
}

// RuleLogOfRun reads the newest limit entries of a rule's log about one run,
// newest first, however many entries about other runs came after them.
func (s *Store) RuleLogOfRun(ctx context.Context, ruleID, runID uuid.UUID, limit int) ([]LogEntry, error) {
	return s.ruleLog(ctx, ruleLogOfRunSQL, ruleID, runID, ruleID, runID, uint64(limit))
}

func (s *Store) ruleLog(ctx context.Context, query string, args ...any) ([]LogEntry, error) {
	return scanAll(ctx, s, "read rule log", query, args, func(rows driver.Rows, e *LogEntry) error {
		var (
			at uint64
			wh int32
		)
		if err := rows.Scan(&at, &e.RunID, &e.Event, &e.Reason, &e.Where, &wh); err != nil {
			return err
		}
		e.At, e.Webhook = time.UnixMicro(int64(at)).UTC(), int(wh)
		return nil
	})
}
