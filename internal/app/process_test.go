package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/testenv"
)

func TestRunRefusesAMissingConfigFile(t *testing.T) {
	called := false
	err := run(filepath.Join(t.TempDir(), "absent.yaml"), func(context.Context, Process) error { called = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") || called {
		t.Errorf("err = %v, called = %v; want an error naming the file, and fn not called", err, called)
	}
}

func TestRunHandsFnAnOpenStore(t *testing.T) {
	// A scratch database of its own; testenv fails with a clear message when
	// ClickHouse is not running.
	t.Setenv("RUNHOOK_CLICKHOUSE_DATABASE", testenv.ClickHouse(t).Database())
	var version string
	err := run("", func(ctx context.Context, p Process) error {
		var err error
		version, err = p.Store.ServerVersion(ctx)
		return err
	})
	if err != nil || version == "" {
		t.Fatalf("run: %v (server version %q)", err, version)
	}
}
