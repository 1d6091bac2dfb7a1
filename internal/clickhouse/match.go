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
	// KeepClaimed returns runs claimed by any owner too, and reads no
	// claims: a preview's counts, which claim nothing.
	KeepClaimed bool
	Limit       int
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

// MatchRuns returns up to m.Limit ids of runs of the window that match and
// are not claimed by another owner (unless m.KeepClaimed), in id order
// (steps above).
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
	if m.KeepClaimed {
		return matched[:min(len(matched), m.Limit)], nil
	}
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
