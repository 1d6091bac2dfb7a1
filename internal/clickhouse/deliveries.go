package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
)

// Attempt is one HTTP attempt of a delivery.
type Attempt struct {
	DeliveryID   string
	RuleID       uuid.UUID
	WebhookIndex uint16
	URLRedacted  string
	Attempt      uint32
	StartedAt    time.Time
	Duration     time.Duration // stored in whole microseconds
	Class        string
	StatusCode   uint16    // 0 = no response
	Error        string    // already redacted
	InsertedAt   time.Time // set by the server; ignored when writing
}

// Outcome is how delivering one run to one webhook of a rule ended.
type Outcome struct {
	RuleID       uuid.UUID
	RunID        uuid.UUID
	WebhookIndex uint16
	DeliveryID   string
	Outcome      string // rulelog.Delivered, Failed or Skipped: ConsecutiveFailedDeliveries counts them
	Reason       string
	// At orders outcomes of the same (rule, run, webhook): the greatest wins.
	At         time.Time
	InsertedAt time.Time // set by the server; ignored when writing
}

const attemptColumns = `delivery_id, rule_id, webhook_idx, url_redacted, attempt, started_at, duration_us, class, status_code, error`

// insertAttemptsSQL names its columns; inserted_at is left to the server.
const insertAttemptsSQL = `INSERT INTO delivery_attempts (` + attemptColumns + `)`

// attemptsSQL reads one delivery's attempts. delivery_id is not in the sort
// key, so this reads the table's delivery_id column: it is for inspecting a
// delivery, not for the delivery path.
const attemptsSQL = `SELECT ` + attemptColumns + `, inserted_at
FROM delivery_attempts
WHERE delivery_id = ?
ORDER BY attempt, started_at`

// attemptsSinceSQL reads one delivery's attempts on the delivery path: a
// range of the sort key (rule_id, started_at, delivery_id) from the time the
// delivery was first scheduled, so it costs what the rule sent since then.
const attemptsSinceSQL = `SELECT ` + attemptColumns + `, inserted_at
FROM delivery_attempts
WHERE rule_id = ? AND started_at >= ? AND delivery_id = ?
ORDER BY attempt, started_at`

const outcomeColumns = `rule_id, run_id, webhook_idx, delivery_id, outcome, reason, at`

// insertOutcomesSQL names its columns; inserted_at is left to the server.
const insertOutcomesSQL = `INSERT INTO delivery_outcomes (` + outcomeColumns + `)`

// outcomesSQL reads the newest outcome per (run, webhook) of one rule for a
// set of runs: ranges of the sort key (rule_id, run_id, webhook_idx).
const outcomesSQL = `SELECT ` + outcomeColumns + `, inserted_at
FROM delivery_outcomes
WHERE rule_id = ? AND run_id IN ?
ORDER BY run_id, webhook_idx, at DESC, inserted_at DESC
LIMIT 1 BY run_id, webhook_idx`

// streakSliceSQL reads the deliveries of a rule that ended in (after, upTo],
// newest first, at most LIMIT of them: a range of delivery_ends' sort key.
// Ties put delivered first, so a failure must be strictly newer to count. A
// delivery's outcomes written in several inserts are several rows, grouped
// here.
const streakSliceSQL = `SELECT delivery_id, max(at) AS last_at, max(delivered) AS any_delivered
FROM delivery_ends
WHERE rule_id = ? AND at > ? AND at <= ?
GROUP BY delivery_id
ORDER BY last_at DESC, any_delivered DESC
LIMIT ?`

// RecordAttempt writes one attempt, in one INSERT with the attempts other
// callers write at the same time; InsertedAt is set by the server.
func (s *Store) RecordAttempt(ctx context.Context, a Attempt) error {
	if _, err := micros("started_at", a.StartedAt); err != nil {
		return fmt.Errorf("record attempt %d of delivery %s: %w", a.Attempt, a.DeliveryID, err)
	}
	if a.Duration < 0 {
		return fmt.Errorf("record attempt %d of delivery %s: negative duration %v", a.Attempt, a.DeliveryID, a.Duration)
	}
	if err := s.w.attempts.Write(ctx, []Attempt{a}); err != nil {
		return fmt.Errorf("record attempt %d of delivery %s: %w", a.Attempt, a.DeliveryID, err)
	}
	return nil
}

func (s *Store) insertAttempts(ctx context.Context, as []Attempt) error {
	return s.insertRows(ctx, insertAttemptsSQL, len(as), func(i int) ([]any, error) {
		a := as[i]
		started, err := micros("started_at", a.StartedAt)
		if err != nil {
			return nil, err
		}
		return []any{a.DeliveryID, a.RuleID, a.WebhookIndex, a.URLRedacted, a.Attempt,
			started, uint64(a.Duration.Microseconds()), a.Class, a.StatusCode, a.Error}, nil
	})
}

// Attempts reads the attempts of one delivery, in attempt order.
func (s *Store) Attempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	return s.attempts(ctx, attemptsSQL, deliveryID)
}

// AttemptsSince reads the attempts of one delivery of a rule that started at
// or after since, in attempt order.
func (s *Store) AttemptsSince(ctx context.Context, ruleID uuid.UUID, since time.Time, deliveryID string) ([]Attempt, error) {
	var after uint64
	if since.After(time.Unix(0, 0)) {
		after = runs.Micros(since)
	}
	return s.attempts(ctx, attemptsSinceSQL, ruleID, after, deliveryID)
}

func (s *Store) attempts(ctx context.Context, query string, args ...any) ([]Attempt, error) {
	return scanAll(ctx, s, "read attempts", query, args, func(rows driver.Rows, a *Attempt) error {
		var started, duration uint64
		if err := rows.Scan(&a.DeliveryID, &a.RuleID, &a.WebhookIndex, &a.URLRedacted, &a.Attempt,
			&started, &duration, &a.Class, &a.StatusCode, &a.Error, &a.InsertedAt); err != nil {
			return err
		}
		a.StartedAt, a.Duration = runs.FromMicros(started), time.Duration(duration)*time.Microsecond
		a.InsertedAt = a.InsertedAt.UTC()
		return nil
	})
}

// RecordOutcomes writes outcomes, in one INSERT with the outcomes other
// callers write at the same time; an unknown outcome value or a missing time
// fails the call before anything is sent.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []Outcome) error {
	for _, o := range outcomes {
		switch o.Outcome {
		case rulelog.Delivered, rulelog.Failed, rulelog.Skipped:
		default:
			return fmt.Errorf("record outcomes: run %s: outcome %q is not %s, %s or %s",
				o.RunID, o.Outcome, rulelog.Delivered, rulelog.Failed, rulelog.Skipped)
		}
		if _, err := micros("at", o.At); err != nil {
			return fmt.Errorf("record outcomes: run %s: %w", o.RunID, err)
		}
	}
	if err := s.w.outcomes.Write(ctx, outcomes); err != nil {
		return fmt.Errorf("record outcomes: %w", err)
	}
	return nil
}

func (s *Store) insertOutcomes(ctx context.Context, outcomes []Outcome) error {
	return s.insertRows(ctx, insertOutcomesSQL, len(outcomes), func(i int) ([]any, error) {
		o := outcomes[i]
		at, err := micros("at", o.At)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", o.RunID, err)
		}
		return []any{o.RuleID, o.RunID, o.WebhookIndex, o.DeliveryID, o.Outcome, o.Reason, at}, nil
	})
}

// Outcomes reads the current outcome of each (run, webhook) of a rule for the
// given runs, ordered by run (server UUID order) then webhook; runs with no
// outcome are absent.
func (s *Store) Outcomes(ctx context.Context, ruleID uuid.UUID, runIDs []uuid.UUID) ([]Outcome, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	return scanAll(ctx, s, "read outcomes", outcomesSQL, []any{ruleID, uuidSet(runIDs)}, func(rows driver.Rows, o *Outcome) error {
		var at uint64
		if err := rows.Scan(&o.RuleID, &o.RunID, &o.WebhookIndex, &o.DeliveryID, &o.Outcome, &o.Reason,
			&at, &o.InsertedAt); err != nil {
			return err
		}
		o.At, o.InsertedAt = runs.FromMicros(at), o.InsertedAt.UTC()
		return nil
	})
}

// ConsecutiveFailedDeliveries is the length of a rule's current failure
// streak, counted up to atMost: how many of its deliveries, newest first,
// ended failed before the newest one that delivered (all of them if none
// did).
//
// A delivery is the outcomes that carry its delivery_id, and is as new as the
// newest of them. It delivered if any of them is delivered: a rule is paused
// as a whole, so it is paused only when its deliveries reach no receiver at
// all. It ended failed if none is delivered and one is failed. A delivery of
// nothing but skips is neither and does not break a streak. A redelivery is a
// delivery of its own: if it fails too, that is one more failure in a row.
//
// Only deliveries newer than since count: a resumed rule starts a new streak.
//
// The read goes back in time in slices, each streakGrowth times longer than
// the one before, and stops at the newest delivered delivery or at atMost
// failures: it reads what the answer needs, not the rule's history.
func (s *Store) ConsecutiveFailedDeliveries(ctx context.Context, ruleID uuid.UUID, since time.Time, atMost int) (int, error) {
	if atMost <= 0 {
		return 0, nil
	}
	var floor uint64
	if since.After(time.Unix(0, 0)) {
		floor = runs.Micros(since)
	}
	now := runs.Micros(time.Now())
	upTo := uint64(math.MaxUint64) // outcomes stamped by a clock running ahead count too
	span := uint64(streakFirstSlice.Microseconds())
	seen := map[string]bool{}
	n := 0
	for {
		after := floor
		if now > span && now-span > floor {
			after = now - span
		}
		ends, err := scanAll(ctx, s, fmt.Sprintf("count failed deliveries of rule %s", ruleID), streakSliceSQL,
			[]any{ruleID, after, upTo, uint64(atMost + 1)}, func(rows driver.Rows, e *streakRow) error {
				return rows.Scan(&e.id, &e.at, &e.delivered)
			})
		if err != nil {
			return 0, err
		}
		for _, e := range ends {
			if seen[e.id] { // a delivery whose outcomes straddle two slices
				continue
			}
			seen[e.id] = true
			if e.delivered == 1 {
				return n, nil
			}
			if n++; n >= atMost {
				return n, nil
			}
		}
		if after <= floor {
			return n, nil
		}
		upTo, span = after, span*streakGrowth
	}
}

type streakRow struct {
	id        string
	at        uint64
	delivered uint8
}

// A failing rule's streak is in its last minutes; a healthy rule's newest
// delivery usually is too.
const (
	streakFirstSlice = 10 * time.Minute
	streakGrowth     = 8
)

// failedSQL lists a rule's (run, webhook) pairs whose current outcome is
// failed: a range of delivery_outcomes' sort key (rule_id, run_id,
// webhook_idx). Args: rule, limit.
const failedSQL = `SELECT run_id, webhook_idx
FROM
(
    SELECT run_id, webhook_idx, outcome
    FROM delivery_outcomes
    WHERE rule_id = ?
    ORDER BY run_id, webhook_idx, at DESC, inserted_at DESC
    LIMIT 1 BY run_id, webhook_idx
)
WHERE outcome = 'failed'
ORDER BY webhook_idx, run_id
LIMIT ?`

// Failed maps each webhook of the rule to the runs whose delivery to it
// failed last, at most limit pairs in all.
func (s *Store) Failed(ctx context.Context, ruleID uuid.UUID, limit int) (map[uint16][]uuid.UUID, error) {
	out := map[uint16][]uuid.UUID{}
	err := s.scan(ctx, fmt.Sprintf("read failed deliveries of rule %s", ruleID), failedSQL, []any{ruleID, uint64(limit)}, func(rows driver.Rows) error {
		var run uuid.UUID
		var idx uint16
		if err := rows.Scan(&run, &idx); err != nil {
			return err
		}
		out[idx] = append(out[idx], run)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lastOutcomeSQL is a rule's newest delivery outcome, by the sort key's
// rule_id prefix.
const lastOutcomeSQL = `SELECT outcome, reason, at FROM delivery_outcomes WHERE rule_id = ? ORDER BY at DESC LIMIT 1`

// LastOutcome is a rule's newest delivery outcome; false when it has none.
func (s *Store) LastOutcome(ctx context.Context, ruleID uuid.UUID) (Outcome, bool, error) {
	var (
		o  Outcome
		at uint64
	)
	err := s.conn.QueryRow(ctx, lastOutcomeSQL, ruleID).Scan(&o.Outcome, &o.Reason, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Outcome{}, false, nil
	}
	if err != nil {
		return Outcome{}, false, fmt.Errorf("read last outcome of rule %s: %w", ruleID, err)
	}
	o.RuleID, o.At = ruleID, runs.FromMicros(at)
	return o, true, nil
}
