package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// StoredRule is one version of a rule as `starter rules apply` stored it. Spec
// is JSON without secrets (internal/rules.Spec); the webhooks are sealed in
// the webhooks table.
type StoredRule struct {
	ID          uuid.UUID
	Name        string
	Spec        string
	Fingerprint string
	CreatedAt   time.Time
	// UpdatedAt orders versions: the greatest wins.
	UpdatedAt time.Time
	Deleted   bool
}

const ruleColumns = `rule_id, name, spec, fingerprint, created_at, updated_at, deleted`

// insertRuleSQL names its columns, as 18.16 batches need.
const insertRuleSQL = `INSERT INTO rules (` + ruleColumns + `)`

// rulesSQL reads the current version of every rule; deleted ones are dropped
// after LIMIT BY, so a deletion is not undone by the version it superseded.
const rulesSQL = `SELECT ` + ruleColumns + `
FROM
(
    SELECT ` + ruleColumns + `
    FROM rules
    ORDER BY rule_id, updated_at DESC, deleted DESC
    LIMIT 1 BY rule_id
)
WHERE deleted = 0
ORDER BY name`

// ruleSQL reads the current version of one rule, by the sort key.
const ruleSQL = `SELECT ` + ruleColumns + `
FROM rules
WHERE rule_id = ?
ORDER BY updated_at DESC, deleted DESC
LIMIT 1`

// PutRule writes a new version of a rule; set Deleted to remove it.
func (s *Store) PutRule(ctx context.Context, r StoredRule) error {
	err := s.insertRows(ctx, insertRuleSQL, 1, func(int) ([]any, error) {
		created, err := micros("created_at", r.CreatedAt)
		if err != nil {
			return nil, err
		}
		updated, err := micros("updated_at", r.UpdatedAt)
		if err != nil {
			return nil, err
		}
		return []any{r.ID, r.Name, r.Spec, r.Fingerprint, created, updated, boolByte(r.Deleted)}, nil
	})
	if err != nil {
		return fmt.Errorf("store rule %s: %w", r.ID, err)
	}
	return nil
}

func scanRule(r rowScanner) (StoredRule, error) {
	var (
		sr               StoredRule
		created, updated uint64
		deleted          uint8
	)
	if err := r.Scan(&sr.ID, &sr.Name, &sr.Spec, &sr.Fingerprint, &created, &updated, &deleted); err != nil {
		return StoredRule{}, err
	}
	sr.CreatedAt, sr.UpdatedAt, sr.Deleted = runs.FromMicros(created), runs.FromMicros(updated), deleted == 1
	return sr, nil
}

// Rules reads every current rule, by name.
func (s *Store) Rules(ctx context.Context) ([]StoredRule, error) {
	return scanAll(ctx, s, "read rules", rulesSQL, nil, func(rows driver.Rows, r *StoredRule) error {
		var err error
		*r, err = scanRule(rows)
		return err
	})
}

// Rule reads one rule's current version; false when it does not exist or was deleted.
func (s *Store) Rule(ctx context.Context, id uuid.UUID) (StoredRule, bool, error) {
	r, err := scanRule(s.conn.QueryRow(ctx, ruleSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return StoredRule{}, false, nil
	}
	if err != nil {
		return StoredRule{}, false, fmt.Errorf("read rule %s: %w", id, err)
	}
	if r.Deleted {
		return r, false, nil
	}
	return r, true, nil
}

// Pause is a rule being paused (Paused) or resumed (!Paused).
type Pause struct {
	RuleID   uuid.UUID
	At       time.Time
	Reason   string
	Failures uint32
	Paused   bool
}

const pauseColumns = `rule_id, at, reason, failures, paused`

// insertPauseSQL names its columns, as 18.16 batches need.
const insertPauseSQL = `INSERT INTO rule_pauses (` + pauseColumns + `)`

// latestPauseSQL reads a rule's newest pause or resumption, by the sort key
// (rule_id, at). On a tie the pause wins: a resumption never silently undoes
// a pause recorded in the same microsecond.
const latestPauseSQL = `SELECT ` + pauseColumns + `
FROM rule_pauses
WHERE rule_id = ?
ORDER BY at DESC, paused DESC
LIMIT 1`

// RecordPause writes a pause or resumption of a rule, in one INSERT with
// the pauses other callers write at the same time.
func (s *Store) RecordPause(ctx context.Context, p Pause) error {
	if _, err := micros("at", p.At); err != nil {
		return fmt.Errorf("record pause of rule %s: %w", p.RuleID, err)
	}
	if err := s.w.pauses.Write(ctx, []Pause{p}); err != nil {
		return fmt.Errorf("record pause of rule %s: %w", p.RuleID, err)
	}
	return nil
}

func (s *Store) insertPauses(ctx context.Context, ps []Pause) error {
	return s.insertRows(ctx, insertPauseSQL, len(ps), func(i int) ([]any, error) {
		p := ps[i]
		at, err := micros("at", p.At)
		if err != nil {
			return nil, err
		}
		return []any{p.RuleID, at, p.Reason, p.Failures, boolByte(p.Paused)}, nil
	})
}

// LatestPause reads a rule's newest pause or resumption; false when it never
// had one.
func (s *Store) LatestPause(ctx context.Context, ruleID uuid.UUID) (Pause, bool, error) {
	var (
		p      Pause
		at     uint64
		paused uint8
	)
	err := s.conn.QueryRow(ctx, latestPauseSQL, ruleID).Scan(&p.RuleID, &at, &p.Reason, &p.Failures, &paused)
	if errors.Is(err, sql.ErrNoRows) {
		return Pause{}, false, nil
	}
	if err != nil {
		return Pause{}, false, fmt.Errorf("read pause of rule %s: %w", ruleID, err)
	}
	p.At, p.Paused = runs.FromMicros(at), paused == 1
	return p, true, nil
}
