package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

const insertRunWritesSQL = `INSERT INTO run_writes (run_id, received_at, request_id, seq, kind, body)`

// runWritesSQL reads the whole log of some runs, by the sort key.
const runWritesSQL = `SELECT run_id, received_at, request_id, seq, kind, body
FROM run_writes
WHERE run_id IN ?
ORDER BY run_id, received_at, request_id, seq`

// InsertRunWrites logs run writes (see runs.Write).
func (s *Store) InsertRunWrites(ctx context.Context, ws []runs.Write) error {
	err := s.insertRows(ctx, insertRunWritesSQL, len(ws), func(i int) ([]any, error) {
		w := ws[i]
		at, err := micros("received_at", w.ReceivedAt)
		if err != nil {
			return nil, err
		}
		return []any{w.RunID, at, w.Request, w.Seq, uint8(w.Kind), string(w.Body.Encode())}, nil
	})
	if err != nil {
		return fmt.Errorf("insert run writes: %w", err)
	}
	return nil
}

// RunWrites reads the logged writes of each of ids, in the order received;
// a write logged twice (a base) may be listed twice. Concurrent calls share
// one read (readers).
func (s *Store) RunWrites(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]runs.Write, error) {
	if len(ids) == 0 {
		return map[uuid.UUID][]runs.Write{}, nil
	}
	return s.r.runWrites.Read(ctx, ids)
}

// runWrites is the read RunWrites' callers share.
func (s *Store) runWrites(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]runs.Write, error) {
	out := make(map[uuid.UUID][]runs.Write, len(ids))
	err := s.scan(pointRead(ctx), "read run writes", runWritesSQL, []any{uuidSet(ids)}, func(rows driver.Rows) error {
		var (
			w    runs.Write
			at   uint64
			kind uint8
			body string
		)
		if err := rows.Scan(&w.RunID, &at, &w.Request, &w.Seq, &kind, &body); err != nil {
			return err
		}
		o, err := runs.ParseObject([]byte(body))
		if err != nil {
			return fmt.Errorf("run %s: logged write %d of request %s: %w", w.RunID, w.Seq, w.Request, err)
		}
		w.ReceivedAt, w.Kind, w.Body = runs.FromMicros(at), runs.WriteKind(kind), o
		out[w.RunID] = append(out[w.RunID], w)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
