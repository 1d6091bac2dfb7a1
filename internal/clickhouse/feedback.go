package clickhouse

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

const feedbackColumns = `id, run_id, trace_id, session_id, key, score, value, comment, correction, source, created_at, modified_at`

// insertFeedbackSQL names its columns, as 18.16 batches need.
const insertFeedbackSQL = `INSERT INTO feedback (` + feedbackColumns + `)`

// feedbackByRuns restricts a read of feedback to the feedback of a set of runs
// (the placeholder) on the days feedback_keys holds for them, as runsByIDs.
const feedbackByRuns = `(toDate(inserted_at), run_id) IN (SELECT day, run_id FROM feedback_keys WHERE run_id IN ?)`

// feedbackForRunsSQL reads the newest version of every feedback row on a set
// of runs, by the sort key (run_id, id).
const feedbackForRunsSQL = `SELECT ` + feedbackColumns + `, inserted_at
FROM feedback
WHERE ` + feedbackByRuns + `
ORDER BY run_id, id, modified_at DESC, inserted_at DESC
LIMIT 1 BY run_id, id`

// InsertFeedback writes feedback rows in batches.
//
// Feedback without a project takes its run's, when the run is stored:
// rules find feedback through the project's arrivals (run_arrivals and
// feedback_arrivals are sorted by project first).
func (s *Store) InsertFeedback(ctx context.Context, fs []runs.Feedback) error {
	var orphans []uuid.UUID
	for _, f := range fs {
		if f.SessionID == nil {
			orphans = append(orphans, f.RunID)
		}
	}
	if len(orphans) > 0 {
		projects, err := s.runProjects(ctx, orphans)
		if err != nil {
			return fmt.Errorf("insert feedback: %w", err)
		}
		fs = slices.Clone(fs)
		for i, f := range fs {
			if p, ok := projects[f.RunID]; ok && f.SessionID == nil {
				fs[i].SessionID, fs[i].TraceID = &p.session, cmp.Or(f.TraceID, &p.trace)
			}
		}
	}
	err := s.insertRows(ctx, insertFeedbackSQL, len(fs), func(i int) ([]any, error) {
		f := fs[i]
		return []any{
			f.ID, f.RunID, f.TraceID, f.SessionID, f.Key, f.Score,
			rawPtr(f.Value), f.Comment, rawPtr(f.Correction), rawPtr(f.Source),
			runs.Micros(f.CreatedAt), runs.Micros(f.ModifiedAt),
		}, nil
	})
	if err != nil {
		return fmt.Errorf("insert feedback: %w", err)
	}
	return nil
}

// runProjectsSQL reads the project and trace of each of a set of stored runs.
const runProjectsSQL = `SELECT id, any(session_id), any(trace_id) FROM runs WHERE ` + runsByIDs + ` GROUP BY id`

type runProject struct{ session, trace uuid.UUID }

func (s *Store) runProjects(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]runProject, error) {
	out := map[uuid.UUID]runProject{}
	for chunk := range slices.Chunk(ids, idChunk) {
		err := s.scan(ctx, "read the projects of runs", runProjectsSQL, []any{uuidSet(chunk)}, func(rows driver.Rows) error {
			var id uuid.UUID
			var p runProject
			err := rows.Scan(&id, &p.session, &p.trace)
			out[id] = p
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// idChunk bounds the ids bound into one query (about 40 bytes each of the
// query text, which ClickHouse caps at 256 KiB).
const idChunk = 1000

// FeedbackForRuns reads the current feedback on the given runs, ordered by run then feedback id.
func (s *Store) FeedbackForRuns(ctx context.Context, runIDs []uuid.UUID) ([]runs.Feedback, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	return scanAll(ctx, s, "read feedback", feedbackForRunsSQL, []any{uuidSet(runIDs)}, func(rows driver.Rows, f *runs.Feedback) error {
		var (
			value, correction, source *string
			created, modified         uint64
		)
		if err := rows.Scan(&f.ID, &f.RunID, &f.TraceID, &f.SessionID, &f.Key, &f.Score,
			&value, &f.Comment, &correction, &source, &created, &modified, &f.InsertedAt); err != nil {
			return err
		}
		f.Value, f.Correction, f.Source = rawFrom(value), rawFrom(correction), rawFrom(source)
		f.CreatedAt, f.ModifiedAt = runs.FromMicros(created), runs.FromMicros(modified)
		f.InsertedAt = f.InsertedAt.UTC()
		return nil
	})
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
