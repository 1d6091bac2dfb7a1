package clickhouse

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// RunWebhook is the webhook a run was created with. URLSealed is opaque
// here: internal/secrets seals and opens it.
type RunWebhook struct {
	RunID       uuid.UUID
	URLSealed   string
	URLRedacted string
	KeyID       string
	// CreatedAt orders rows of the same run: the greatest wins.
	CreatedAt time.Time
	// WorkflowID is the workflow that posts it; empty for runs registered
	// before workflows were shared, whose workflow is named by the run alone.
	WorkflowID string
	// Format is the body's shape (payload.Format): "" is LangSmith's.
	Format string
}

const runWebhookColumns = `run_id, url_sealed, url_redacted, key_id, created_at, workflow_id, format`

// insertRunWebhooksSQL names its columns, as 18.16 batches need.
const insertRunWebhooksSQL = `INSERT INTO run_webhooks (` + runWebhookColumns + `)`

// runWebhooksByRunSQL reads the newest webhook of each of a set of runs by
// the sort key.
const runWebhooksByRunSQL = `SELECT ` + runWebhookColumns + `
FROM run_webhooks
WHERE run_id IN ?
ORDER BY run_id, created_at DESC
LIMIT 1 BY run_id`

// runEndedSQL reads whether the newest version of a run has an end_time,
// without reading its documents.
const runEndedSQL = `SELECT isNotNull(end_time)
FROM runs
WHERE ` + runByID + `
ORDER BY modified_at DESC, inserted_at DESC
LIMIT 1`

// runsEndedSQL reads, for each stored run of a set, whether its newest
// version has an end_time: ranges of the sort key, no documents read.
const runsEndedSQL = `SELECT id, isNotNull(end_time) AS ended
FROM runs
WHERE ` + runsByIDs + `
ORDER BY id, modified_at DESC, inserted_at DESC
LIMIT 1 BY id`

// runInputsSQL and runOutputsSQL read one document of the newest version of
// a run, as stored. Two queries, as a column name cannot be bound.
const (
	runInputsSQL  = `SELECT inputs FROM runs WHERE ` + runByID + ` ORDER BY modified_at DESC, inserted_at DESC LIMIT 1`
	runOutputsSQL = `SELECT outputs FROM runs WHERE ` + runByID + ` ORDER BY modified_at DESC, inserted_at DESC LIMIT 1`
)

var runDocumentSQL = map[string]string{"inputs": runInputsSQL, "outputs": runOutputsSQL}

// PutRunWebhooks writes the webhooks of runs, in one INSERT with the run
// webhooks other callers write at the same time.
func (s *Store) PutRunWebhooks(ctx context.Context, ws []RunWebhook) error {
	for _, w := range ws {
		if _, err := micros("created_at", w.CreatedAt); err != nil {
			return fmt.Errorf("put run webhooks: run %s: %w", w.RunID, err)
		}
	}
	if err := s.w.runWebhooks.Write(ctx, ws); err != nil {
		return fmt.Errorf("put run webhooks: %w", err)
	}
	return nil
}

func (s *Store) insertRunWebhooks(ctx context.Context, ws []RunWebhook) error {
	return s.insertRows(ctx, insertRunWebhooksSQL, len(ws), func(i int) ([]any, error) {
		w := ws[i]
		created, err := micros("created_at", w.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", w.RunID, err)
		}
		return []any{w.RunID, w.URLSealed, w.URLRedacted, w.KeyID, created, w.WorkflowID, w.Format}, nil
	})
}

// RunWebhook reads the webhook of a run; false when it has none. Concurrent
// calls share one read (readers).
func (s *Store) RunWebhook(ctx context.Context, runID uuid.UUID) (RunWebhook, bool, error) {
	got, err := s.r.runWebhooks.Read(ctx, []uuid.UUID{runID})
	if err != nil {
		return RunWebhook{}, false, err
	}
	w, ok := got[runID]
	return w, ok, nil
}

func (s *Store) runWebhooksByRun(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]RunWebhook, error) {
	out := make(map[uuid.UUID]RunWebhook, len(ids))
	err := s.scan(ctx, "read run webhooks", runWebhooksByRunSQL, []any{uuidSet(ids)}, func(rows driver.Rows) error {
		var (
			w       RunWebhook
			created uint64
		)
		if err := rows.Scan(&w.RunID, &w.URLSealed, &w.URLRedacted, &w.KeyID, &created, &w.WorkflowID, &w.Format); err != nil {
			return err
		}
		w.CreatedAt = runs.FromMicros(created)
		out[w.RunID] = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RunWebhooks reads the webhooks of those of ids that have one. Concurrent
// calls share one read (readers).
func (s *Store) RunWebhooks(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]RunWebhook, error) {
	return s.r.runWebhooks.Read(ctx, ids)
}

// RunEnded says whether the newest version of a run has an end_time; found
// is false when the run is not stored (yet).
func (s *Store) RunEnded(ctx context.Context, runID uuid.UUID) (ended, found bool, err error) {
	var v uint8
	err = s.conn.QueryRow(ctx, runEndedSQL, runID).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("read end of run %s: %w", runID, err)
	}
	return v == 1, true, nil
}

// RunsEnded maps each stored run of ids to whether its newest version has
// an end_time; runs not stored (yet) are absent.
func (s *Store) RunsEnded(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.scan(ctx, "read ends of runs", runsEndedSQL, []any{uuidSet(ids)}, func(rows driver.Rows) error {
		var id uuid.UUID
		var ended uint8
		err := rows.Scan(&id, &ended)
		out[id] = ended == 1
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RunDocument reads field ("inputs" or "outputs") of the newest version of a
// run exactly as stored; found is false for an unknown run, and a stored
// null is (nil, true).
func (s *Store) RunDocument(ctx context.Context, runID uuid.UUID, field string) (json.RawMessage, bool, error) {
	query, ok := runDocumentSQL[field]
	if !ok {
		return nil, false, fmt.Errorf("run document: field %q is not inputs or outputs", field)
	}
	var doc *string
	err := s.conn.QueryRow(ctx, query, runID).Scan(&doc)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read %s of run %s: %w", field, runID, err)
	}
	return rawFrom(doc), true, nil
}
