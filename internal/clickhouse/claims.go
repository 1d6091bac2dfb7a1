package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
)

// unclaimedSQL is which of a bound set of runs a rule has claimed under
// another owner: a lookup of rule_claims' sort key (rule_id, run_id) per run.
const unclaimedSQL = `SELECT DISTINCT run_id FROM rule_claims WHERE rule_id = ? AND run_id IN ? AND owner != ?`

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
	out := map[uuid.UUID]int{}
	err := s.scan(ctx, "count claims", claimCountsSQL, []any{ruleID}, func(rows driver.Rows) error {
		var id uuid.UUID
		var n uint64
		err := rows.Scan(&id, &n)
		out[id] = int(n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
