package clickhouse

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

const feedbackColumns = `id, run_id, trace_id, session_id, key, score, value, comment, correction, source, created_at, modified_at`

// InsertFeedbackSQL names its columns, as 18.16 batches need.
const InsertFeedbackSQL = `INSERT INTO feedback (` + feedbackColumns + `)`

// FeedbackForRunsSQL reads the newest version of every feedback row on a set
// of runs, by the sort key (run_id, id).
const FeedbackForRunsSQL = `SELECT ` + feedbackColumns + `, inserted_at
FROM feedback
WHERE run_id IN ?
ORDER BY run_id, id, modified_at DESC, inserted_at DESC
LIMIT 1 BY run_id, id`

// InsertFeedback writes feedback rows in batches.
func (s *Store) InsertFeedback(ctx context.Context, fs []runs.Feedback) error {
	for start := 0; start < len(fs); start += s.batchSize {
		end := min(start+s.batchSize, len(fs))
		batch, err := s.conn.PrepareBatch(ctx, InsertFeedbackSQL)
		if err != nil {
			return fmt.Errorf("insert feedback: %w", err)
		}
		for _, f := range fs[start:end] {
			if err := batch.Append(
				f.ID, f.RunID, f.TraceID, f.SessionID, f.Key, f.Score,
				rawPtr(f.Value), f.Comment, rawPtr(f.Correction), rawPtr(f.Source),
				runs.Micros(f.CreatedAt), runs.Micros(f.ModifiedAt),
			); err != nil {
				batch.Abort()
				return fmt.Errorf("insert feedback: feedback %s: %w", f.ID, err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("insert feedback: %w", err)
		}
	}
	return nil
}

// FeedbackForRuns reads the current feedback on the given runs, ordered by run then feedback id.
func (s *Store) FeedbackForRuns(ctx context.Context, runIDs []uuid.UUID) ([]runs.Feedback, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	rows, err := s.conn.Query(ctx, FeedbackForRunsSQL, uuidSet(runIDs))
	if err != nil {
		return nil, fmt.Errorf("read feedback: %w", err)
	}
	defer rows.Close()
	var out []runs.Feedback
	for rows.Next() {
		var (
			f                         runs.Feedback
			value, correction, source *string
			created, modified         uint64
		)
		if err := rows.Scan(&f.ID, &f.RunID, &f.TraceID, &f.SessionID, &f.Key, &f.Score,
			&value, &f.Comment, &correction, &source, &created, &modified, &f.InsertedAt); err != nil {
			return nil, fmt.Errorf("read feedback: %w", err)
		}
		f.Value, f.Correction, f.Source = rawFrom(value), rawFrom(correction), rawFrom(source)
		f.CreatedAt, f.ModifiedAt = runs.FromMicros(created), runs.FromMicros(modified)
		f.InsertedAt = f.InsertedAt.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}
