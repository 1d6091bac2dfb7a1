package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/retention"
)

// partitionsSQL lists the active partitions of some tables of the current
// database. partition_id rather than partition: for these keys they are the
// same digits, and the ID is what a drop and the planner take.
const partitionsSQL = `SELECT DISTINCT table, partition_id
FROM system.parts
WHERE database = currentDatabase() AND active AND table IN ?
ORDER BY table, partition_id`

// timezoneSQL is the server's timezone, in which toYYYYMMDD and toYYYYMM cut
// the partitions.
const timezoneSQL = `SELECT timezone()`

// Partitions lists the active partitions of the named tables.
func (s *Store) Partitions(ctx context.Context, tables []string) ([]retention.Partition, error) {
	names := make([]any, len(tables))
	for i, t := range tables {
		names[i] = t
	}
	return scanAll(ctx, s, "list partitions", partitionsSQL, []any{groupSet(names)}, func(rows driver.Rows, p *retention.Partition) error {
		return rows.Scan(&p.Table, &p.ID)
	})
}

// Timezone is the server's timezone name, e.g. Etc/UTC.
func (s *Store) Timezone(ctx context.Context) (string, error) {
	var tz string
	if err := s.conn.QueryRow(ctx, timezoneSQL).Scan(&tz); err != nil {
		return "", fmt.Errorf("server timezone: %w", err)
	}
	return tz, nil
}

// dropPartitionSQL is the statement that drops one partition of a table.
// ALTER TABLE ... DROP PARTITION takes the table as an identifier and the
// partition as an expression of the partition key, neither of which a bound
// parameter can stand for: 18.16 has no server-side parameters, and the
// quoted string a client-side binding of the ID writes is refused for these
// numeric keys ("Type mismatch ... Expected: UInt32"). So both are written
// into the statement, only after the table is checked to be an identifier
// and the ID to be digits only (YYYYMMDD or YYYYMM), which is then the
// number the key's value is.
func dropPartitionSQL(table, id string) (string, error) {
	if !config.IsIdentifier(table) {
		return "", fmt.Errorf("drop partition: %q is not a table name", table)
	}
	if !retention.IsPartitionID(id) {
		return "", fmt.Errorf("drop partition of %s: %q is not a partition ID (YYYYMMDD or YYYYMM)", table, id)
	}
	return "ALTER TABLE `" + table + "` DROP PARTITION " + id, nil
}

// DropPartition drops one partition of a table; one already gone is no error.
func (s *Store) DropPartition(ctx context.Context, table, id string) error {
	stmt, err := dropPartitionSQL(table, id)
	if err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("drop partition %s of %s: %w", id, table, err)
	}
	return nil
}
