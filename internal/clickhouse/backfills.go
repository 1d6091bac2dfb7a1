package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
)

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
	return scanAll(ctx, s, "read backfills", backfillsSQL, []any{ruleID}, func(rows driver.Rows, b *Backfill) error {
		var req, upd uint64
		if err := rows.Scan(&b.RuleID, &b.ID, &b.From, &b.To, &b.DoneUpTo, &req, &upd); err != nil {
			return err
		}
		b.From, b.To, b.DoneUpTo = b.From.UTC(), b.To.UTC(), b.DoneUpTo.UTC()
		b.RequestedAt, b.UpdatedAt = time.UnixMicro(int64(req)).UTC(), time.UnixMicro(int64(upd)).UTC()
		return nil
	})
}
