package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// A process started before ClickHouse answers waits for it: here ClickHouse
// appears on the configured port a second later (a loopback relay to the
// real server), and a port where nothing ever answers gives up at the wait.
func TestOpenStoreWaitsForClickHouse(t *testing.T) {
	cfg := testenv.Config(t)
	cfg.ClickHouse.Database = testenv.ClickHouse(t).Database()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	real := cfg.ClickHouse.Addr
	cfg.ClickHouse.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p := Process{Config: cfg, Logger: slog.New(slog.DiscardHandler)}

	if _, err := openStore(context.Background(), p, 1500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "waited") {
		t.Fatalf("nothing listening: err = %v, want it to say it waited", err)
	}

	go func() {
		time.Sleep(time.Second)
		l, err := net.Listen("tcp", cfg.ClickHouse.Addr)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { l.Close() })
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go relay(c, real)
		}
	}()
	store, err := openStore(context.Background(), p, time.Minute)
	if err != nil {
		t.Fatalf("ClickHouse up a second later: %v", err)
	}
	store.Close()
}

// relay copies a connection to addr and back.
func relay(c net.Conn, addr string) {
	defer c.Close()
	up, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(up, c) }()
	_, _ = io.Copy(c, up)
}
