package clickhouse

import (
	"context"
	"fmt"
	"time"

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
