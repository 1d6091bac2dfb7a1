package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/runhook/runhook/schema"
)

// CreateMigrationsTableSQL records which schema versions are applied.
const CreateMigrationsTableSQL = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY version`

// AppliedMigrationsSQL lists recorded versions; two migrators racing may both
// record one, hence the grouping.
const AppliedMigrationsSQL = `SELECT version, any(checksum) FROM schema_migrations GROUP BY version ORDER BY version`

// RecordMigrationSQL is batch-inserted: 18.16 hangs on bound INSERT ... VALUES.
const RecordMigrationSQL = `INSERT INTO schema_migrations (version, name, checksum)`

// MigrationResult says what Migrate did with one migration.
type MigrationResult struct {
	Version uint32
	Name    string
	Applied bool // false: it was already applied
}

func checksum(m schema.Migration) string {
	h := sha256.Sum256([]byte(strings.Join(m.Statements, ";\n")))
	return hex.EncodeToString(h[:8])
}

// Migrate applies every migration not yet recorded, in order. Statements are
// idempotent (IF NOT EXISTS), so a migration interrupted halfway is simply
// applied again. A recorded migration whose text changed since is an error:
// schema changes go in a new file.
func (s *Store) Migrate(ctx context.Context) ([]MigrationResult, error) {
	migrations, err := schema.Migrations()
	if err != nil {
		return nil, err
	}
	if err := s.conn.Exec(ctx, CreateMigrationsTableSQL); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[uint32]string{}
	rows, err := s.conn.Query(ctx, AppliedMigrationsSQL)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		applied[v] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var results []MigrationResult
	for _, m := range migrations {
		sum := checksum(m)
		if prev, ok := applied[m.Version]; ok {
			if prev != sum {
				return results, fmt.Errorf("migration %04d_%s was changed after it was applied (checksum %s, recorded %s); put schema changes in a new file", m.Version, m.Name, sum, prev)
			}
			results = append(results, MigrationResult{Version: m.Version, Name: m.Name})
			continue
		}
		for i, stmt := range m.Statements {
			if done, err := s.columnAdded(ctx, stmt); err != nil {
				return results, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			} else if done {
				continue
			}
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return results, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		batch, err := s.conn.PrepareBatch(ctx, RecordMigrationSQL)
		if err != nil {
			return results, fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		if err := batch.Append(m.Version, m.Name, sum); err != nil {
			return results, fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		if err := batch.Send(); err != nil {
			return results, fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		results = append(results, MigrationResult{Version: m.Version, Name: m.Name, Applied: true})
	}
	return results, nil
}

// addColumn matches the one non-idempotent statement migrations use: 18.16
// has no ADD COLUMN IF NOT EXISTS, so a migration interrupted after adding a
// column must skip it when applied again.
var addColumn = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s`)

// ColumnExistsSQL asks whether a table of the current database has a column.
const ColumnExistsSQL = `SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = ? AND name = ?`

// AddsColumn names the table and column an ALTER TABLE ... ADD COLUMN adds.
func AddsColumn(stmt string) (table, column string, ok bool) {
	m := addColumn.FindStringSubmatch(stmt)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

func (s *Store) columnAdded(ctx context.Context, stmt string) (bool, error) {
	table, column, ok := AddsColumn(stmt)
	if !ok {
		return false, nil
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, ColumnExistsSQL, table, column).Scan(&n); err != nil {
		return false, fmt.Errorf("check column %s.%s: %w", table, column, err)
	}
	return n > 0, nil
}
