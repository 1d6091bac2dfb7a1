package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/filter"
)

// Window is a range of server insertion time, (After, UpTo], in whole seconds.
type Window struct {
	After time.Time
	UpTo  time.Time
}

// Match asks for the runs of a window that newly match a rule.
type Match struct {
	RuleID  uuid.UUID
	Project uuid.UUID
	Window  Window
	// Filter applies to each run; nil matches every run.
	Filter filter.Expr
	// TraceFilter applies to the root run of each run's trace.
	TraceFilter filter.Expr
	// SamplingRate in [0, 1]; sampling hashes (rule, run), so every reading
	// of a window samples the same runs.
	SamplingRate float64
	// Owner is who claims the result: runs claimed by any other owner are
	// excluded, runs claimed by Owner itself are returned again.
	Owner string
	Limit int
	// Recent (config rules.recent) is how far before the window the
	// project's arrivals are read: runs given feedback in the window that
	// were written in that range, and the feedback of runs that started in
	// it. Older runs are read by id.
	Recent time.Duration
}

// samplingScale is the resolution of sampling_rate: a millionth.
const samplingScale = 1000000

// clockSkew is how far a client's start_time may run ahead of the server's
// clock. A run that started (by its start_time) at least this long after the
// start of the recent range was first written inside it, and so was its
// feedback.
const clockSkew = 5 * time.Minute

// windowColumns are what a compiled filter (internal/filter) may read, and
// what the match needs besides; run_arrivals holds them all.
const windowColumns = `session_id, id, trace_id, name, run_type, status, is_root, start_time, end_time,
        total_tokens, prompt_tokens, completion_tokens, total_cost, error, tags,
        metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values,
        completed, modified_at, inserted_at`

// q is SQL text with the args of its placeholders, in order.
type q struct {
	sql  string
	args []any
}

func cat(parts ...any) q {
	var out q
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			out.sql += p
		case q:
			out.sql += p.sql
			out.args = append(out.args, p.args...)
		}
	}
	return out
}

// A match reads, for a rule, project P and window (A, B]:
//
//  1. the runs given feedback in the window: a range of feedback_arrivals;
//  2. the runs written completed in the window, and the runs of step 1 as
//     written in the recent range (B - A + rules.recent), with the filter
//     and sampling applied: a range of run_arrivals, whose sort key starts
//     with the project and the insertion time. The filter's feedback
//     conditions read the project's feedback arrivals in the recent range;
//     documents are not read, so search() is taken as a necessary condition;
//  3. only when needed, an exact check by id of the runs that step 2 could
//     not decide: runs of step 1 not written in the recent range, runs that
//     started before it when the filter reads feedback (their feedback may
//     be older than the range), and runs that passed a filter that searches
//     documents or that has a trace filter (the roots are read by id);
//  4. the claims of the runs that match, by id.
//
// Steps 1 and 2 cost what the window and the recent range hold, not what
// the table holds.

// matchPlan holds the bounds of one match, in the units the tables use.
type matchPlan struct {
	project     uuid.UUID
	after, upTo uint32 // the window, unix seconds
	recent      uint32 // start of the recent range, unix seconds
	fresh       uint64 // runs that started at or after this (µs) are recent
}

func planMatch(m Match) matchPlan {
	recent := m.Window.After.Add(-m.Recent)
	return matchPlan{
		project: m.Project,
		after:   uint32(m.Window.After.Unix()),
		upTo:    uint32(m.Window.UpTo.Unix()),
		recent:  uint32(recent.Unix()),
		fresh:   uint64(recent.Add(clockSkew).UnixMicro()),
	}
}

// givenFeedbackSQL is step 1: the runs of a project given feedback in a
// window. Feedback stored before its run has no project (the nil UUID), and
// its run may be stored by now. Args: project, uuid.Nil, after, upTo.
const givenFeedbackSQL = `SELECT DISTINCT run_id FROM feedback_arrivals
WHERE session_id IN (?, ?) AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)`

// recentFeedback is the current feedback of the project stored in the
// recent range, newest version of each feedback row.
func (p matchPlan) recentFeedback() filter.Scope {
	return filter.Scope{SQL: `SELECT id, run_id, key, score, value FROM feedback_arrivals
    WHERE session_id IN (?, ?) AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)
    ORDER BY run_id, id, modified_at DESC
    LIMIT 1 BY run_id, id`, Args: []any{p.project, uuid.Nil, p.recent, p.upTo}}
}

// windowSQL is step 2: each run of the window, and each run given feedback
// (given) found in the recent range, once, with whether it passes the
// filter as far as the range can tell and whether it started before the
// recent range. Columns: id, pass, old.
func windowSQL(m Match, p matchPlan, given []uuid.UUID) (query q, feedback, docs bool, err error) {
	f, err := filter.CompileTarget(m.Filter, filter.Target{Feedback: p.recentFeedback()})
	if err != nil {
		return q{}, false, false, fmt.Errorf("filter: %w", err)
	}
	// The window alone when no run was given feedback; else the recent
	// range too, of which PREWHERE reads four small columns to find the
	// given runs' granules.
	rows := q{`
    PREWHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?) AND completed = 1`,
		[]any{p.project, p.after, p.upTo}}
	if len(given) > 0 {
		rows = q{`
    PREWHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?)
        AND (inserted_at > toDateTime(?) AND completed = 1 OR id IN ?)`,
			[]any{p.project, p.recent, p.upTo, p.after, uuidSet(given)}}
	}
	query = cat("SELECT id, ", q{f.SQL, f.Args}, " AS pass, start_time < ? AS old", q{args: []any{p.fresh}}, `
FROM
(
    SELECT `+windowColumns+`
    FROM run_arrivals`, rows, `
    ORDER BY id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY id
)
WHERE completed = 1`)
	if m.SamplingRate < 1 {
		query = cat(query, sampled(m))
	}
	return query, f.Feedback, f.Documents, nil
}

func sampled(m Match) q {
	return q{"\n  AND cityHash64(?, toString(id)) % ? < ?",
		[]any{m.RuleID.String(), uint64(samplingScale), uint64(m.SamplingRate * samplingScale)}}
}

// latestRuns is the newest version, up to upTo, of each run in ids (a
// bound set, or a parenthesised subquery), documents included, read by id.
func latestRuns(ids q, upTo uint32) q {
	return cat(`SELECT * FROM runs
    WHERE (toDate(inserted_at), id) IN (SELECT day, id FROM run_keys WHERE id IN `, ids, q{`)
      AND inserted_at <= toDateTime(?)
    ORDER BY id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY id`, []any{upTo}})
}

// latestFeedback is the current feedback, up to upTo, of the runs in ids
// (as latestRuns), read by run.
func latestFeedback(ids q, upTo uint32) q {
	return cat(`SELECT id, run_id, key, score, value FROM feedback
    WHERE (toDate(inserted_at), run_id) IN (SELECT day, run_id FROM feedback_keys WHERE run_id IN `, ids, q{`)
      AND inserted_at <= toDateTime(?)
    ORDER BY run_id, id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY run_id, id`, []any{upTo}})
}

// recheckSQL is step 3: the rule's filters, documents and all, applied
// exactly to a bound set of runs, read by id as they were at the window's
// end, with their feedback and their traces' roots.
func recheckSQL(m Match, ids []uuid.UUID) (q, error) {
	upTo := uint32(m.Window.UpTo.Unix())
	set := q{"?", []any{uuidSet(ids)}}
	f, err := filter.CompileTarget(m.Filter, filter.Target{Feedback: scope(latestFeedback(set, upTo)), Documents: true})
	if err != nil {
		return q{}, fmt.Errorf("filter: %w", err)
	}
	out := cat("SELECT id FROM (", latestRuns(set, upTo), ")\nWHERE session_id = ? AND end_time IS NOT NULL AND (",
		q{f.SQL, append([]any{m.Project}, f.Args...)}, ")")
	if m.TraceFilter != nil {
		roots := cat("(SELECT trace_id FROM runs WHERE "+runsByIDs+")", q{args: []any{uuidSet(ids)}})
		tf, err := filter.CompileTarget(m.TraceFilter, filter.Target{Feedback: scope(latestFeedback(roots, upTo)), Documents: true})
		if err != nil {
			return q{}, fmt.Errorf("trace_filter: %w", err)
		}
		out = cat(out, "\n  AND trace_id IN (SELECT id FROM (", latestRuns(roots, upTo), ") WHERE ", q{tf.SQL, tf.Args}, ")")
	}
	if m.SamplingRate < 1 {
		out = cat(out, sampled(m))
	}
	return cat(out, "\nORDER BY id"), nil
}

func scope(a q) filter.Scope { return filter.Scope{SQL: a.sql, Args: a.args} }

// unclaimedSQL is which of a bound set of runs a rule has claimed under
// another owner: a lookup of rule_claims' sort key (rule_id, run_id) per run.
const unclaimedSQL = `SELECT DISTINCT run_id FROM rule_claims WHERE rule_id = ? AND run_id IN ? AND owner != ?`

// MatchRuns returns up to m.Limit ids of runs of the window that match and
// are not claimed by another owner, in id order (steps above).
func (s *Store) MatchRuns(ctx context.Context, m Match) ([]uuid.UUID, error) {
	if m.Limit <= 0 {
		return nil, fmt.Errorf("match: limit must be positive")
	}
	p := planMatch(m)
	given, err := s.queryIDs(ctx, "match runs: feedback", givenFeedbackSQL, p.project, uuid.Nil, p.after, p.upTo)
	if err != nil {
		return nil, err
	}
	query, readsFeedback, docs, err := windowSQL(m, p, given)
	if err != nil {
		return nil, err
	}
	unseen := make(map[uuid.UUID]bool, len(given))
	for _, id := range given {
		unseen[id] = true
	}
	var matched, recheck []uuid.UUID
	err = s.scan(ctx, "match runs", query.sql, query.args, func(rows driver.Rows) error {
		var id uuid.UUID
		var pass, old uint8
		if err := rows.Scan(&id, &pass, &old); err != nil {
			return err
		}
		delete(unseen, id)
		switch {
		case readsFeedback && old == 1:
			recheck = append(recheck, id) // its feedback may be older than the range
		case pass == 1 && (docs || m.TraceFilter != nil):
			recheck = append(recheck, id)
		case pass == 1:
			matched = append(matched, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id := range unseen {
		recheck = append(recheck, id) // given feedback, written before the recent range
	}
	for chunk := range slices.Chunk(recheck, idChunk) {
		query, err := recheckSQL(m, chunk)
		if err != nil {
			return nil, err
		}
		ids, err := s.queryIDs(ctx, "match runs: by id", query.sql, query.args...)
		if err != nil {
			return nil, err
		}
		matched = append(matched, ids...)
	}
	slices.SortFunc(matched, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	var out []uuid.UUID
	for start := 0; start < len(matched) && len(out) < m.Limit; start += idChunk {
		chunk := matched[start:min(start+idChunk, len(matched))]
		claimed, err := s.queryIDs(ctx, "match runs: claims", unclaimedSQL, m.RuleID, uuidSet(chunk), m.Owner)
		if err != nil {
			return nil, err
		}
		taken := make(map[uuid.UUID]bool, len(claimed))
		for _, id := range claimed {
			taken[id] = true
		}
		for _, id := range chunk {
			if !taken[id] && len(out) < m.Limit {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// scan runs a query and hands each row to row.
func (s *Store) scan(ctx context.Context, what, query string, args []any, row func(driver.Rows) error) error {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *Store) queryIDs(ctx context.Context, what, query string, args ...any) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.scan(ctx, what, query, args, func(rows driver.Rows) error {
		var id uuid.UUID
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

// insertClaimsSQL names its columns, as 18.16 batches need.
const insertClaimsSQL = `INSERT INTO rule_claims (rule_id, run_id, owner, at)`

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
	return s.insertRows(ctx, insertClaimsSQL, len(cs), func(i int) ([]any, error) {
		return []any{cs[i].rule, cs[i].run, cs[i].owner, cs[i].at}, nil
	})
}

// claimCountsSQL counts claims per run of one rule, for tests and audits of
// the at-most-once rule: a range of the sort key (rule_id, run_id).
const claimCountsSQL = `SELECT run_id, count() FROM rule_claims WHERE rule_id = ? GROUP BY run_id`

// ClaimCounts maps each run claimed for the rule to its number of claims.
func (s *Store) ClaimCounts(ctx context.Context, ruleID uuid.UUID) (map[uuid.UUID]int, error) {
	rows, err := s.conn.Query(ctx, claimCountsSQL, ruleID)
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

// readySQL is the runs among a set that carry feedback under every one of a
// set of keys, reading each feedback row's newest version by the sort key
// (run_id, id). Args: runs, keys, number of keys.
const readySQL = `SELECT run_id
FROM
(
    SELECT run_id, key
    FROM feedback
    WHERE ` + feedbackByRuns + `
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
	return s.queryIDs(ctx, "read feedback keys", readySQL, uuidSet(runIDs), groupSet(set), uint64(len(uniq)))
}

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

// ruleLogSQL is a rule's events and delivery outcomes, newest first. Both
// parts read a range of their table's sort key by rule_id. Args: rule, rule,
// limit (as in "newest N").
const ruleLogSQL = `SELECT at, run_id, event, reason, where, webhook
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
	rows, err := s.conn.Query(ctx, ruleLogSQL, ruleID, ruleID, uint64(limit))
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

// insertBackfillSQL names its columns, as 18.16 batches need.
const insertBackfillSQL = `INSERT INTO rule_backfills (` + backfillColumns + `)`

// backfillsSQL reads the current state of a rule's backfills, oldest request
// first, by the sort key.
const backfillsSQL = `SELECT ` + backfillColumns + `
FROM rule_backfills
WHERE rule_id = ?
ORDER BY backfill_id, updated_at DESC
LIMIT 1 BY backfill_id`

// PutBackfill writes a new state of a backfill.
func (s *Store) PutBackfill(ctx context.Context, b Backfill) error {
	err := s.insertRows(ctx, insertBackfillSQL, 1, func(int) ([]any, error) {
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
	rows, err := s.conn.Query(ctx, backfillsSQL, ruleID)
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
