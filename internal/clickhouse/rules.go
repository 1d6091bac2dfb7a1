package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	rows, err := s.conn.Query(ctx, rulesSQL)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	defer rows.Close()
	var out []StoredRule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("read rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
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

// serverNowSQL reads the server's clock: windows are on server insertion
// time, so they are cut on the server's clock, not a worker's.
const serverNowSQL = `SELECT toUInt32(now())`

// ServerNow is the ClickHouse server's current time, to the second.
func (s *Store) ServerNow(ctx context.Context) (time.Time, error) {
	var sec uint32
	if err := s.conn.QueryRow(ctx, serverNowSQL).Scan(&sec); err != nil {
		return time.Time{}, fmt.Errorf("read server time: %w", err)
	}
	return time.Unix(int64(sec), 0).UTC(), nil
}
