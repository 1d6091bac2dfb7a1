// Package clickhouse is runhook's storage driver: every query the project runs
// lives here, written for ClickHouse 18.16 and current releases alike, with
// values bound client-side by the driver (18.16 has no server-side parameters).
package clickhouse

import (
	"context"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/groupcommit"
)

// Store is a connection to runhook's database.
type Store struct {
	conn      driver.Conn
	database  string
	batchSize int
	w         writers
	r         readers
}

// Open connects to the configured database, creating it if needed, and checks
// that the server answers.
func Open(ctx context.Context, cfg config.ClickHouse) (*Store, error) {
	if err := ensureDatabase(ctx, cfg); err != nil {
		return nil, err
	}
	conn, err := dial(cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse at %s: %w", cfg.Addr, err)
	}
	batch := cfg.BatchSize
	if batch <= 0 {
		batch = config.Default().ClickHouse.BatchSize
	}
	s := &Store{conn: conn, database: cfg.Database, batchSize: batch}
	s.w = s.newWriters(groupcommit.Options{MaxRows: cfg.CommitRows, Wait: cfg.CommitWait})
	s.r = s.newReaders()
	return s, nil
}

func dial(cfg config.ClickHouse, database string) (driver.Conn, error) {
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	conn, err := ch.Open(&ch.Options{
		Protocol: ch.Native, // 18.16 does not speak the driver's HTTP dialect
		Addr:     []string{cfg.Addr},
		Auth: ch.Auth{
			Database: database,
			Username: cfg.Username,
			Password: cfg.Password,
		},
		DialTimeout:      timeout,
		ReadTimeout:      5 * time.Minute,
		MaxOpenConns:     16,
		MaxIdleConns:     4,
		ConnMaxLifetime:  time.Hour,
		ConnOpenStrategy: ch.ConnOpenInOrder,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse at %s: %w", cfg.Addr, err)
	}
	return conn, nil
}

// ensureDatabase creates the database through the server's default database:
// a connection cannot name a database that does not exist yet.
func ensureDatabase(ctx context.Context, cfg config.ClickHouse) error {
	if !config.IsIdentifier(cfg.Database) {
		return fmt.Errorf("clickhouse.database %q is not a valid database name", cfg.Database)
	}
	conn, err := dial(cfg, "default")
	if err != nil {
		return err
	}
	defer conn.Close()
	// An identifier cannot be bound; it was checked against [A-Za-z_][A-Za-z0-9_]* above.
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+cfg.Database+"`"); err != nil {
		return fmt.Errorf("clickhouse at %s: create database %s: %w", cfg.Addr, cfg.Database, err)
	}
	return nil
}

// Close releases the connection pool.
func (s *Store) Close() error { return s.conn.Close() }

// Database names the database this store reads and writes.
func (s *Store) Database() string { return s.database }

// ServerVersion reports the server's version string, e.g. 18.16.1.
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", err
	}
	return v, nil
}

// Exec runs one statement; for tests and tools (clickhousetest, bench/) that need SQL the store does not wrap.
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	return s.conn.Exec(ctx, query, args...)
}

// QueryRow runs a query expected to return one row; for tests and tools.
func (s *Store) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	return s.conn.QueryRow(ctx, query, args...)
}

// Query runs a query and returns its rows; for tests and tools.
func (s *Store) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	return s.conn.Query(ctx, query, args...)
}

// serverNowSQL reads the server's clock: windows are on server insertion
// time, so they are cut on the server's clock, not a worker's.
const serverNowSQL = `SELECT toUInt32(now())`

// ServerNow is the ClickHouse server's current time, to the second.
func (s *Store) ServerNow(ctx context.Context) (time.Time, error) {
	var sec uint32
	if err := s.conn.QueryRow(ctx, serverNowSQL).Scan(&sec); err != nil {
		return time.Time{}, fmt.Errorf("read server time: %w", err)
	}
	return time.Unix(int64(sec), 0).UTC(), nil
}
