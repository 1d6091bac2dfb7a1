package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/runhook/runhook/schema"
)

// createMigrationsTableSQL records which schema versions are applied.
const createMigrationsTableSQL = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY version`

// appliedMigrationsSQL lists recorded versions; two migrators racing may both
// record one, hence the grouping.
const appliedMigrationsSQL = `SELECT version, any(checksum) FROM schema_migrations GROUP BY version ORDER BY version`

// recordMigrationSQL is batch-inserted: 18.16 hangs on bound INSERT ... VALUES.
const recordMigrationSQL = `INSERT INTO schema_migrations (version, name, checksum)`

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

// createStepsTableSQL records each statement of a migration as it completes,
// so a migration cut short resumes after its last completed statement rather
// than running a table rebuild's fill and swap again.
const createStepsTableSQL = `CREATE TABLE IF NOT EXISTS schema_migration_steps
(
    version    UInt32,
    step       UInt32,
    checksum   String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY (version, step)`

// appliedStepsSQL lists the completed statements of one migration text.
const appliedStepsSQL = `SELECT DISTINCT step FROM schema_migration_steps WHERE version = ? AND checksum = ?`

// recordStepSQL is batch-inserted, as recordMigrationSQL.
const recordStepSQL = `INSERT INTO schema_migration_steps (version, step, checksum)`

// Migrate applies every migration not yet recorded, in order. A migration
// interrupted halfway resumes at its first statement not recorded as done;
// that statement itself may have run, so each is idempotent: IF [NOT] EXISTS,
// ADD COLUMN (skipped when the column exists), RENAME (skipped when done),
// INSERT ... SELECT into a ReplacingMergeTree table (a row written twice is
// one) or into a rebuild's <name>_next table (emptied first). A recorded
// migration whose text changed since is an error: schema changes go in a new
// file.
func (s *Store) Migrate(ctx context.Context) ([]MigrationResult, error) {
	return s.MigrateTo(ctx, math.MaxUint32)
}

// MigrateTo is Migrate up to and including version: tests use it to build
// a database as an earlier release left it.
func (s *Store) MigrateTo(ctx context.Context, version uint32) ([]MigrationResult, error) {
	migrations, err := schema.Migrations()
	if err != nil {
		return nil, err
	}
	migrations = slices.DeleteFunc(migrations, func(m schema.Migration) bool { return m.Version > version })
	for _, ddl := range []string{createMigrationsTableSQL, createStepsTableSQL} {
		if err := s.conn.Exec(ctx, ddl); err != nil {
			return nil, fmt.Errorf("create migration records: %w", err)
		}
	}
	applied := map[uint32]string{}
	err = s.scan(ctx, "read schema_migrations", appliedMigrationsSQL, nil, func(rows driver.Rows) error {
		var v uint32
		var sum string
		err := rows.Scan(&v, &sum)
		applied[v] = sum
		return err
	})
	if err != nil {
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
		if err := s.applySteps(ctx, m, sum); err != nil {
			return results, err
		}
		if err := s.record(ctx, recordMigrationSQL, m.Version, m.Name, sum); err != nil {
			return results, fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		results = append(results, MigrationResult{Version: m.Version, Name: m.Name, Applied: true})
	}
	return results, nil
}

func (s *Store) applySteps(ctx context.Context, m schema.Migration, sum string) error {
	done := map[uint32]bool{}
	err := s.scan(ctx, "read schema_migration_steps", appliedStepsSQL, []any{m.Version, sum}, func(rows driver.Rows) error {
		var step uint32
		err := rows.Scan(&step)
		done[step] = true
		return err
	})
	if err != nil {
		return err
	}
	for i, stmt := range m.Statements {
		step := uint32(i + 1)
		if done[step] {
			continue
		}
		if err := s.applyStatement(ctx, stmt); err != nil {
			return fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, step, err)
		}
		if err := s.record(ctx, recordStepSQL, m.Version, step, sum); err != nil {
			return fmt.Errorf("record migration %04d statement %d: %w", m.Version, step, err)
		}
	}
	return nil
}

func (s *Store) record(ctx context.Context, insert string, values ...any) error {
	return s.insertRows(ctx, insert, 1, func(int) ([]any, error) { return values, nil })
}

// applyStatement runs one statement of a migration, skipping or preparing
// the forms that are not idempotent by themselves.
func (s *Store) applyStatement(ctx context.Context, stmt string) error {
	if done, err := s.columnAdded(ctx, stmt); err != nil || done {
		return err
	}
	if from, to, ok := renames(stmt); ok {
		fromExists, err := s.tableExists(ctx, from)
		if err != nil {
			return err
		}
		toExists, err := s.tableExists(ctx, to)
		if err != nil {
			return err
		}
		if !fromExists && toExists {
			return nil // renamed before a crash
		}
	}
	if table, ok := fillsRebuild(stmt); ok {
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE "+table); err != nil {
			return fmt.Errorf("empty %s before filling it: %w", table, err)
		}
	}
	return s.conn.Exec(ctx, stmt)
}

var (
	renameTable = regexp.MustCompile(`(?is)^\s*RENAME\s+TABLE\s+(\w+)\s+TO\s+(\w+)\s*$`)
	fillRebuild = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+(\w+_next)\s*\(`)
)

// renames names the tables of a RENAME TABLE of one table.
func renames(stmt string) (from, to string, ok bool) {
	m := renameTable.FindStringSubmatch(stmt)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// fillsRebuild names the <name>_next table an INSERT fills.
func fillsRebuild(stmt string) (table string, ok bool) {
	m := fillRebuild.FindStringSubmatch(stmt)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// tableExistsSQL asks whether the current database has a table.
const tableExistsSQL = `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?`

func (s *Store) tableExists(ctx context.Context, table string) (bool, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, tableExistsSQL, table).Scan(&n); err != nil {
		return false, fmt.Errorf("check table %s: %w", table, err)
	}
	return n > 0, nil
}

// addColumn matches the one non-idempotent statement migrations use: 18.16
// has no ADD COLUMN IF NOT EXISTS, so a migration interrupted after adding a
// column must skip it when applied again.
var addColumn = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s`)

// columnExistsSQL asks whether a table of the current database has a column.
const columnExistsSQL = `SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = ? AND name = ?`

// addsColumn names the table and column an ALTER TABLE ... ADD COLUMN adds.
func addsColumn(stmt string) (table, column string, ok bool) {
	m := addColumn.FindStringSubmatch(stmt)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

func (s *Store) columnAdded(ctx context.Context, stmt string) (bool, error) {
	table, column, ok := addsColumn(stmt)
	if !ok {
		return false, nil
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, columnExistsSQL, table, column).Scan(&n); err != nil {
		return false, fmt.Errorf("check column %s.%s: %w", table, column, err)
	}
	return n > 0, nil
}
