// Package clickhousetest holds what tests and benches need of a
// clickhouse.Store and the product does not: dropping a test's database,
// counting the rows a query reads, and dumping every table as text. It is
// built on the store's Exec and Query, so the storage package keeps no
// test-only methods.
package clickhousetest

import (
	"context"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
)

// DropDatabase removes the store's database and everything in it.
func DropDatabase(ctx context.Context, s *clickhouse.Store) error {
	// The name was checked to be an identifier when the store was opened; it cannot be bound.
	return s.Exec(ctx, "DROP DATABASE IF EXISTS `"+s.Database()+"`")
}

// RowsRead runs a query, discards its result and reports how many rows the
// server read to answer it: the check that a query uses the sort key.
func RowsRead(ctx context.Context, s *clickhouse.Store, query string, args ...any) (uint64, error) {
	var read uint64
	ctx = ch.Context(ctx, ch.WithProgress(func(p *ch.Progress) { read += p.Rows }))
	rows, err := s.Query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
	}
	rows.Close()
	return read, rows.Err()
}

// tablesSQL lists the tables of the current database.
const tablesSQL = `SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View' ORDER BY name`

// columnsSQL lists a table's columns in order.
const columnsSQL = `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ?`

// DumpText renders every row of every table as text, so an audit can prove a
// value (a plaintext secret, say) is stored nowhere. For small databases.
func DumpText(ctx context.Context, s *clickhouse.Store) (map[string]string, error) {
	tables, err := texts(ctx, s, "dump: list tables", tablesSQL)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, table := range tables {
		cols, err := texts(ctx, s, "dump: list columns of "+table, columnsSQL, table)
		if err != nil {
			return nil, err
		}
		if !config.IsIdentifier(table) {
			return nil, fmt.Errorf("dump: unexpected table name %q", table)
		}
		exprs := make([]string, 0, len(cols))
		for _, c := range cols {
			if !config.IsIdentifier(c) {
				return nil, fmt.Errorf("dump: unexpected column name %q in %s", c, table)
			}
			// Names come from system.columns and are checked above; they cannot be bound.
			exprs = append(exprs, "ifNull(toString(`"+c+"`), 'NULL')")
		}
		rows, err := texts(ctx, s, "dump "+table, "SELECT concat("+strings.Join(append(exprs, "''"), ", '\\t', ")+") FROM `"+table+"`")
		if err != nil {
			return nil, err
		}
		out[table] = strings.Join(rows, "\n")
	}
	return out, nil
}

// texts reads a query's one String column.
func texts(ctx context.Context, s *clickhouse.Store, what, query string, args ...any) ([]string, error) {
	rows, err := s.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
