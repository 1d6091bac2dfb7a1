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

// scan runs a query and hands each row to row: every read of this package
// goes through it, so each reports its failures the same way, as what.
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

// scanAll is scan for reads that return a list: scanRow fills one value
// from the current row.
func scanAll[T any](ctx context.Context, s *Store, what, query string, args []any, scanRow func(driver.Rows, *T) error) ([]T, error) {
	var out []T
	err := s.scan(ctx, what, query, args, func(rows driver.Rows) error {
		var v T
		if err := scanRow(rows, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) queryIDs(ctx context.Context, what, query string, args ...any) ([]uuid.UUID, error) {
	return scanAll(ctx, s, what, query, args, func(rows driver.Rows, id *uuid.UUID) error { return rows.Scan(id) })
}

// micros converts a required timestamp. A zero time would become a huge
// UInt64 (before the epoch) that outranks every real version forever.
func micros(field string, t time.Time) (uint64, error) {
	if t.Before(time.Unix(0, 0)) {
		return 0, fmt.Errorf("%s %v is not set or before 1970", field, t)
	}
	return runs.Micros(t), nil
}

// insertRows is the one insert path: it appends rows to batches of the
// configured size (18.16 hangs on bound INSERT ... VALUES, so even one row
// goes as a batch); row returns the values of row i in the column order of
// insert.
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
