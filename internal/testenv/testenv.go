// Package testenv connects tests to the real ClickHouse and Temporal servers
// that `make services` starts. A missing server fails the test with a message
// that says how to start it; it never skips.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/temporal"
)

// Config is the effective config for tests: defaults and RUNHOOK_* variables.
func Config(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load(config.Options{File: ""})
	if err != nil {
		t.Fatalf("testenv: config: %v", err)
	}
	return cfg
}

// Name returns a unique lower-case name with the given prefix, for databases and task queues.
func Name(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return strings.ToLower(prefix) + "_" + hex.EncodeToString(b)
}

// ClickHouse opens a migrated, empty database of its own on the real server
// and drops it when the test ends.
func ClickHouse(t testing.TB) *clickhouse.Store {
	t.Helper()
	return ClickHouseAt(t, Config(t).ClickHouse.Addr)
}

// ClickHouseAt is ClickHouse on the server at addr (a test's own server).
func ClickHouseAt(t testing.TB, addr string) *clickhouse.Store {
	t.Helper()
	return clickHouse(t, addr, math.MaxUint32)
}

// ClickHouseAtVersion is ClickHouse with the schema migrated only up to
// version, as an earlier release left it.
func ClickHouseAtVersion(t testing.TB, version uint32) *clickhouse.Store {
	t.Helper()
	return clickHouse(t, Config(t).ClickHouse.Addr, version)
}

func clickHouse(t testing.TB, addr string, version uint32) *clickhouse.Store {
	t.Helper()
	cfg := Config(t)
	cfg.ClickHouse.Addr = addr
	cfg.ClickHouse.Database = Name("runhook_test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		t.Fatalf("testenv: ClickHouse is needed and does not answer at %s: %v\n"+
			"start it with `make services` (`make test` starts it for you)", cfg.ClickHouse.Addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := clickhousetest.DropDatabase(ctx, store); err != nil {
			t.Logf("testenv: drop %s: %v", store.Database(), err)
		}
		store.Close()
	})
	if _, err := store.MigrateTo(ctx, version); err != nil {
		t.Fatalf("testenv: migrate %s: %v", store.Database(), err)
	}
	return store
}

// Temporal connects to the real Temporal server and returns a client with a
// task queue of the test's own, so tests sharing the server never take each
// other's tasks.
func Temporal(t testing.TB) (client.Client, string) {
	t.Helper()
	cfg := Config(t)
	c, err := temporal.Dial(context.Background(), cfg.Temporal, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("testenv: Temporal is needed and does not answer at %s: %v\n"+
			"start it with `make services` (`make test` starts it for you)", cfg.Temporal.Address, err)
	}
	t.Cleanup(c.Close)
	return c, Name("test")
}
