package clickhouse

// The one reader of rows, the one insert path, and the conversions between
// Go values and the columns' types that both use.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// scan runs a query and hands each row to row.
func (s *Store) scan(ctx context.Context, what, query string, args []any, row func(driver.Rows) error) error {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *Store) queryIDs(ctx context.Context, what, query string, args ...any) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.scan(ctx, what, query, args, func(rows driver.Rows) error {
		var id uuid.UUID
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

// micros converts a required timestamp. A zero time would become a huge
// UInt64 (before the epoch) that outranks every real version forever.
func micros(field string, t time.Time) (uint64, error) {
	if t.Before(time.Unix(0, 0)) {
		return 0, fmt.Errorf("%s %v is not set or before 1970", field, t)
	}
	return runs.Micros(t), nil
}

// insertRows appends rows to batches of the configured size; row returns the
// values of row i in the column order of insert.
func (s *Store) insertRows(ctx context.Context, insert string, n int, row func(i int) ([]any, error)) error {
	for start := 0; start < n; start += s.batchSize {
		end := min(start+s.batchSize, n)
		batch, err := s.conn.PrepareBatch(ctx, insert)
		if err != nil {
			return err
		}
		for i := start; i < end; i++ {
			vals, err := row(i)
			if err == nil {
				err = batch.Append(vals...)
			}
			if err != nil {
				_ = batch.Abort()
				return err
			}
		}
		if err := batch.Send(); err != nil {
			return err
		}
	}
	return nil
}

type rowScanner interface{ Scan(dest ...any) error }

func rawPtr(raw json.RawMessage) *string {
	if raw == nil {
		return nil
	}
	s := string(raw)
	return &s
}

func rawFrom(s *string) json.RawMessage {
	if s == nil {
		return nil
	}
	return json.RawMessage(*s)
}

func microsPtr(t *time.Time) *uint64 {
	if t == nil {
		return nil
	}
	us := runs.Micros(*t)
	return &us
}

func timePtr(us *uint64) *time.Time {
	if us == nil {
		return nil
	}
	t := runs.FromMicros(*us)
	return &t
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// uuidSet binds ids as a parenthesised list, ('a', 'b'): the form of IN that
// 18.16 accepts for a UUID column and serves from the primary key (an array
// literal is refused).
func uuidSet(ids []uuid.UUID) ch.GroupSet {
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id.String()
	}
	return ch.GroupSet{Value: vals}
}

func groupSet(vals []any) ch.GroupSet { return ch.GroupSet{Value: vals} }
