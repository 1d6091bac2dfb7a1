package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/runhook/runhook/internal/config"
)

// tablesSQL lists the tables of the current database.
const tablesSQL = `SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View' ORDER BY name`

// columnsSQL lists a table's columns in order.
const columnsSQL = `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ?`

// DumpText renders every row of every table as text, so an audit can prove a
// value (a plaintext secret, say) is stored nowhere. For tests and audits of
// small databases.
func (s *Store) DumpText(ctx context.Context) (map[string]string, error) {
	tables, err := s.strings(ctx, "dump: list tables", tablesSQL)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, table := range tables {
		cols, err := s.strings(ctx, "dump: list columns of "+table, columnsSQL, table)
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
		rows, err := s.strings(ctx, "dump "+table, "SELECT concat("+strings.Join(append(exprs, "''"), ", '\\t', ")+") FROM `"+table+"`")
		if err != nil {
			return nil, err
		}
		out[table] = strings.Join(rows, "\n")
	}
	return out, nil
}

func (s *Store) strings(ctx context.Context, what, query string, args ...any) ([]string, error) {
	return scanAll(ctx, s, what, query, args, func(rows driver.Rows, v *string) error { return rows.Scan(v) })
}
