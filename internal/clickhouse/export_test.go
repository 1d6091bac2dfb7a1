package clickhouse

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/runhook/runhook/schema"
)

// ApplyMigrationSteps runs the first steps statements of a migration as
// Migrate does, recording each, then runs the next one without recording it:
// the state a crash leaves after that statement ran.
func (s *Store) ApplyMigrationSteps(ctx context.Context, version uint32, steps int) error {
	ms, err := schema.Migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Version != version {
			continue
		}
		sum := checksum(m)
		for i, stmt := range m.Statements[:steps] {
			if err := s.applyStatement(ctx, stmt); err != nil {
				return fmt.Errorf("statement %d: %w", i+1, err)
			}
			if err := s.record(ctx, recordStepSQL, m.Version, uint32(i+1), sum); err != nil {
				return err
			}
		}
		if steps < len(m.Statements) {
			return s.applyStatement(ctx, m.Statements[steps])
		}
		return nil
	}
	return fmt.Errorf("no migration %d", version)
}

// RecheckSQL is the statement that applies a filter that searches documents
// to the runs MatchSQL found.
func RecheckSQL(m Match, ids []uuid.UUID) (string, []any, error) {
	query, err := recheckSQL(m, ids)
	return query.sql, query.args, err
}

// MatchSQL is step 2 of a match (windowSQL), for tests that run it on the
// modern engine, given the runs of step 1.
func MatchSQL(m Match, given []uuid.UUID) (string, []any, error) {
	query, _, _, err := windowSQL(m, planMatch(m), given)
	return query.sql, query.args, err
}

// The statements, for the tests that run them on the modern engine (chdb)
// or read their text.
const (
	AppliedMigrationsSQL     = appliedMigrationsSQL
	AttemptsSQL              = attemptsSQL
	ColumnExistsSQL          = columnExistsSQL
	CompletedArrivalsSQL     = completedArrivalsSQL
	CountRunsSQL             = countRunsSQL
	CreateMigrationsTableSQL = createMigrationsTableSQL
	FeedbackForRunsSQL       = feedbackForRunsSQL
	FeedbackStatsBatchSQL    = feedbackStatsBatchSQL
	FeedbackStatsByRunSQL    = feedbackStatsByRunSQL
	InsertAttemptsSQL        = insertAttemptsSQL
	InsertEventsSQL          = insertEventsSQL
	InsertFeedbackSQL        = insertFeedbackSQL
	InsertOutcomesSQL        = insertOutcomesSQL
	InsertPauseSQL           = insertPauseSQL
	InsertRunWebhooksSQL     = insertRunWebhooksSQL
	InsertRunsSQL            = insertRunsSQL
	InsertRunWritesSQL       = insertRunWritesSQL
	InsertWebhooksSQL        = insertWebhooksSQL
	LatestPauseSQL           = latestPauseSQL
	LatestRunsSQL            = latestRunsSQL
	OutcomesSQL              = outcomesSQL
	PartitionsSQL            = partitionsSQL
	RecordMigrationSQL       = recordMigrationSQL
	RunEndedSQL              = runEndedSQL
	RuleLogSQL               = ruleLogSQL
	RuleLogOfRunSQL          = ruleLogOfRunSQL
	RunInputsSQL             = runInputsSQL
	RunOutputsSQL            = runOutputsSQL
	RunSizesSQL              = runSizesSQL
	RunWebhooksByRunSQL      = runWebhooksByRunSQL
	RunWritesSQL             = runWritesSQL
	RunsEndedSQL             = runsEndedSQL
	RunsWithFeedbackSQL      = runsWithFeedbackSQL
	StoredRunIDsSQL          = storedRunIDsSQL
	StreakSliceSQL           = streakSliceSQL
	TableExistsSQL           = tableExistsSQL
	TimezoneSQL              = timezoneSQL
	UnclaimedSQL             = unclaimedSQL
	WebhookSQL               = webhookSQL
	WebhooksSQL              = webhooksSQL
)

// DropPartitionSQL is the statement DropPartition runs.
var DropPartitionSQL = dropPartitionSQL

// The statement forms Migrate makes idempotent, for the test that checks
// every migration against them.
var (
	AddsColumn   = addsColumn
	Renames      = renames
	FillsRebuild = fillsRebuild
)
