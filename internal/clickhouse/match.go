package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Window is a range of server insertion time, (After, UpTo], in whole seconds.
type Window struct {
	After time.Time
	UpTo  time.Time
}

// CandidatesSQL is the runs that enter a window of one project: written in a
// completed state in the window (a range of run_arrivals' sort key), or given
// feedback in the window (a range of feedback_arrivals' sort key; the project
// is checked on the run itself). Args: CandidateArgs.
const CandidatesSQL = `SELECT id FROM run_arrivals
    WHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?) AND completed = 1
    UNION ALL
    SELECT run_id FROM feedback_arrivals
    WHERE inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)`

// CandidateArgs binds CandidatesSQL.
func CandidateArgs(project uuid.UUID, w Window) []any {
	after, upTo := uint32(w.After.Unix()), uint32(w.UpTo.Unix())
	return []any{project, after, upTo, after, upTo}
}

// filterColumns are what a compiled filter (internal/filter) may reference.
const filterColumns = `id, trace_id, session_id, name, run_type, status, is_root, start_time, end_time,
        total_tokens, prompt_tokens, completion_tokens, total_cost, error, tags, inputs, outputs, extra,
        metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values`

// latestOf is the newest version of each run whose id the subquery returns,
// by runs' sort key.
func latestOf(ids string) string {
	return `SELECT ` + filterColumns + `
    FROM runs
    WHERE id IN (` + ids + `)
    ORDER BY id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY id`
}

// Match asks for the runs of a window that newly match a rule.
type Match struct {
	RuleID  uuid.UUID
	Project uuid.UUID
	Window  Window
	// Filter is a compiled boolean expression over filterColumns, with its
	// args; "" matches every run. Its feedback scope must be CandidatesSQL.
	Filter     string
	FilterArgs []any
	// TraceFilter applies to the root run of each run's trace; its feedback
	// scope must be TraceScopeSQL.
	TraceFilter     string
	TraceFilterArgs []any
	// SamplingRate in [0, 1]; sampling hashes (rule, run), so every reading
	// of a window samples the same runs.
	SamplingRate float64
	// Owner is who claims the result: runs claimed by any other owner are
	// excluded, runs claimed by Owner itself are returned again.
	Owner string
	Limit int
}

// TraceScopeSQL is the roots of the traces of a window's candidates.
const TraceScopeSQL = `SELECT trace_id FROM runs WHERE id IN (` + CandidatesSQL + `)`

// samplingScale is the resolution of sampling_rate: a millionth.
const samplingScale = 1000000

// MatchSQL builds the window query for m and its args. Only values are
// bound; the SQL text is the fixed skeleton plus the compiled filters, which
// name columns from a fixed table.
func MatchSQL(m Match) (string, []any) {
	var args []any
	var b strings.Builder
	b.WriteString("SELECT id\nFROM\n(\n    ")
	b.WriteString(latestOf(CandidatesSQL))
	args = append(args, CandidateArgs(m.Project, m.Window)...)
	b.WriteString("\n)\nWHERE session_id = ? AND end_time IS NOT NULL")
	args = append(args, m.Project)
	if m.Filter != "" {
		b.WriteString("\n  AND (" + m.Filter + ")")
		args = append(args, m.FilterArgs...)
	}
	if m.TraceFilter != "" {
		b.WriteString("\n  AND trace_id IN (SELECT id FROM (" + latestOf(TraceScopeSQL) + ") WHERE " + m.TraceFilter + ")")
		args = append(args, CandidateArgs(m.Project, m.Window)...)
		args = append(args, m.TraceFilterArgs...)
	}
	if m.SamplingRate < 1 {
		b.WriteString("\n  AND cityHash64(?, toString(id)) % ? < ?")
		args = append(args, m.RuleID.String(), uint64(samplingScale), uint64(m.SamplingRate*samplingScale))
	}
	// The claims read is a range of rule_claims' sort key (rule_id, run_id)
	// per candidate, so it costs the window's candidates, not every claim the
	// rule ever made.
	b.WriteString("\n  AND id NOT IN (SELECT run_id FROM rule_claims WHERE rule_id = ? AND run_id IN (" + CandidatesSQL + ") AND owner != ?)")
	args = append(args, m.RuleID)
	args = append(args, CandidateArgs(m.Project, m.Window)...)
	args = append(args, m.Owner)
	b.WriteString("\nORDER BY id\nLIMIT ?")
	args = append(args, uint64(m.Limit))
	return b.String(), args
}

// MatchRuns returns up to m.Limit ids of runs of the window that match and
// are not claimed by another owner, in id order.
func (s *Store) MatchRuns(ctx context.Context, m Match) ([]uuid.UUID, error) {
	if m.Limit <= 0 {
		return nil, fmt.Errorf("match: limit must be positive")
	}
	query, args := MatchSQL(m)
	return s.queryIDs(ctx, "match runs", query, args...)
}

func (s *Store) queryIDs(ctx context.Context, what, query string, args ...any) ([]uuid.UUID, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// InsertClaimsSQL names its columns, as 18.16 batches need.
const InsertClaimsSQL = `INSERT INTO rule_claims (rule_id, run_id, owner, at)`

// Claim records that owner handed these runs on for the rule, in one INSERT
// with the claims other callers write at the same time.
func (s *Store) Claim(ctx context.Context, ruleID uuid.UUID, runIDs []uuid.UUID, owner string, at time.Time) error {
	us, err := micros("at", at)
	if err != nil {
		return fmt.Errorf("claim runs for rule %s: %w", ruleID, err)
	}
	rows := make([]claim, len(runIDs))
	for i, id := range runIDs {
		rows[i] = claim{rule: ruleID, run: id, owner: owner, at: us}
	}
	if err := s.w.claims.Write(ctx, rows); err != nil {
		return fmt.Errorf("claim runs for rule %s: %w", ruleID, err)
	}
	return nil
}

type claim struct {
	rule, run uuid.UUID
	owner     string
	at        uint64
}

func (s *Store) insertClaims(ctx context.Context, cs []claim) error {
	return s.insertRows(ctx, InsertClaimsSQL, len(cs), func(i int) ([]any, error) {
		return []any{cs[i].rule, cs[i].run, cs[i].owner, cs[i].at}, nil
	})
}

// ClaimCountsSQL counts claims per run of one rule, for tests and audits of
// the at-most-once rule: a range of the sort key (rule_id, run_id).
const ClaimCountsSQL = `SELECT run_id, count() FROM rule_claims WHERE rule_id = ? GROUP BY run_id`

// ClaimCounts maps each run claimed for the rule to its number of claims.
func (s *Store) ClaimCounts(ctx context.Context, ruleID uuid.UUID) (map[uuid.UUID]int, error) {
	rows, err := s.conn.Query(ctx, ClaimCountsSQL, ruleID)
	if err != nil {
		return nil, fmt.Errorf("count claims: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]int{}
	for rows.Next() {
		var id uuid.UUID
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count claims: %w", err)
		}
		out[id] = int(n)
	}
	return out, rows.Err()
}

// ReadySQL is the runs among a set that carry feedback under every one of a
// set of keys, reading each feedback row's newest version by the sort key
// (run_id, id). Args: runs, keys, number of keys.
const ReadySQL = `SELECT run_id
FROM
(
    SELECT run_id, key
    FROM feedback
    WHERE run_id IN ?
    ORDER BY run_id, id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY run_id, id
)
WHERE key IN ?
GROUP BY run_id
HAVING uniqExact(key) = ?
ORDER BY run_id`

// Ready returns the runs that carry feedback under every key in keys.
func (s *Store) Ready(ctx context.Context, runIDs []uuid.UUID, keys []string) ([]uuid.UUID, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	if len(keys) == 0 {
		return runIDs, nil
	}
	uniq := map[string]bool{}
	var set []any
	for _, k := range keys {
		if !uniq[k] {
			uniq[k] = true
			set = append(set, k)
		}
	}
	return s.queryIDs(ctx, "read feedback keys", ReadySQL, uuidSet(runIDs), groupSet(set), uint64(len(uniq)))
}

// Event values for rule_events.
const (
	EventMatched  = "matched"
	EventWaiting  = "waiting"
	EventTimedOut = "timed_out"
)

// Event is something that happened to a run for a rule before delivery.
type Event struct {
	RuleID     uuid.UUID
	RunID      uuid.UUID
	Event      string
	Reason     string
	At         time.Time
	WorkflowID string
}

// InsertEventsSQL names its columns, as 18.16 batches need.
const InsertEventsSQL = `INSERT INTO rule_events (rule_id, run_id, event, reason, at, workflow_id)`

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
	return s.insertRows(ctx, InsertEventsSQL, len(events), func(i int) ([]any, error) {
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

// RuleLogSQL is a rule's events and delivery outcomes, newest first. Both
// parts read a range of their table's sort key by rule_id. Args: rule, rule,
// limit (as in "newest N").
const RuleLogSQL = `SELECT at, run_id, event, reason, where, webhook
FROM
(
    SELECT at, run_id, event, reason, workflow_id AS where, toInt32(-1) AS webhook
    FROM rule_events
    WHERE rule_id = ?
    UNION ALL
    SELECT at, run_id, outcome AS event, reason, delivery_id AS where, toInt32(webhook_idx) AS webhook
    FROM delivery_outcomes
    WHERE rule_id = ?
)
ORDER BY at DESC, run_id
LIMIT ?`

// RuleLog reads the newest limit entries of a rule's log, newest first.
func (s *Store) RuleLog(ctx context.Context, ruleID uuid.UUID, limit int) ([]LogEntry, error) {
	rows, err := s.conn.Query(ctx, RuleLogSQL, ruleID, ruleID, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("read rule log: %w", err)
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var (
			e  LogEntry
			at uint64
			wh int32
		)
		if err := rows.Scan(&at, &e.RunID, &e.Event, &e.Reason, &e.Where, &wh); err != nil {
			return nil, fmt.Errorf("read rule log: %w", err)
		}
		e.At, e.Webhook = time.UnixMicro(int64(at)).UTC(), int(wh)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Backfill is a request to cover an old window of a rule, and how far the
// rule's ticks have got.
type Backfill struct {
	RuleID      uuid.UUID
	ID          string
	From, To    time.Time
	DoneUpTo    time.Time
	RequestedAt time.Time
	UpdatedAt   time.Time
}

// Done says whether every window of the backfill was handed on.
func (b Backfill) Done() bool { return !b.DoneUpTo.Before(b.To) }

const backfillColumns = `rule_id, backfill_id, from_at, to_at, done_upto, requested_at, updated_at`

// InsertBackfillSQL names its columns, as 18.16 batches need.
const InsertBackfillSQL = `INSERT INTO rule_backfills (` + backfillColumns + `)`

// BackfillsSQL reads the current state of a rule's backfills, oldest request
// first, by the sort key.
const BackfillsSQL = `SELECT ` + backfillColumns + `
FROM rule_backfills
WHERE rule_id = ?
ORDER BY backfill_id, updated_at DESC
LIMIT 1 BY backfill_id`

// PutBackfill writes a new state of a backfill.
func (s *Store) PutBackfill(ctx context.Context, b Backfill) error {
	err := s.insertRows(ctx, InsertBackfillSQL, 1, func(int) ([]any, error) {
		req, err := micros("requested_at", b.RequestedAt)
		if err != nil {
			return nil, err
		}
		upd, err := micros("updated_at", b.UpdatedAt)
		if err != nil {
			return nil, err
		}
		return []any{b.RuleID, b.ID, b.From.UTC(), b.To.UTC(), b.DoneUpTo.UTC(), req, upd}, nil
	})
	if err != nil {
		return fmt.Errorf("store backfill %s of rule %s: %w", b.ID, b.RuleID, err)
	}
	return nil
}

// Backfills reads a rule's backfills, in request order.
func (s *Store) Backfills(ctx context.Context, ruleID uuid.UUID) ([]Backfill, error) {
	rows, err := s.conn.Query(ctx, BackfillsSQL, ruleID)
	if err != nil {
		return nil, fmt.Errorf("read backfills: %w", err)
	}
	defer rows.Close()
	var out []Backfill
	for rows.Next() {
		var (
			b        Backfill
			req, upd uint64
		)
		if err := rows.Scan(&b.RuleID, &b.ID, &b.From, &b.To, &b.DoneUpTo, &req, &upd); err != nil {
			return nil, fmt.Errorf("read backfills: %w", err)
		}
		b.From, b.To, b.DoneUpTo = b.From.UTC(), b.To.UTC(), b.DoneUpTo.UTC()
		b.RequestedAt, b.UpdatedAt = time.UnixMicro(int64(req)).UTC(), time.UnixMicro(int64(upd)).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}
