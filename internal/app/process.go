package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/logging"
)

// Process is what a long-running runhook process (the server, the worker)
// starts from.
type Process struct {
	Config config.Config
	Logger *slog.Logger
	Store  *clickhouse.Store
}

// Main is the whole main of a long-running process: it reads -config, opens
// the config, the logger and the store, and runs fn until SIGINT or SIGTERM
// cancels its context. An error is printed after name and exits 1.
func Main(name string, fn func(ctx context.Context, p Process) error) {
	configFile := flag.String("config", "", "config file (default: ./"+config.DefaultFile+" if present)")
	flag.Parse()
	if err := run(*configFile, fn); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

func run(configFile string, fn func(ctx context.Context, p Process) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(config.Options{File: configFile})
	if err != nil {
		return err
	}
	p := Process{Config: cfg, Logger: logging.New(os.Stderr, cfg.Log)}
	if p.Store, err = openStore(ctx, p, startupWait); err != nil {
		return err
	}
	defer p.Store.Close()
	return fn(ctx, p)
}

// startupWait is how long a process waits for ClickHouse when it starts:
// services started together (compose, a host booting), or a worker
// restarted while ClickHouse restarts, find it up within seconds.
const startupWait = 2 * time.Minute

// openStore opens the store, trying again with backoff while ClickHouse does
// not answer, for up to wait.
func openStore(ctx context.Context, p Process, wait time.Duration) (*clickhouse.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for backoff := 500 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		store, err := clickhouse.Open(ctx, p.Config.ClickHouse)
		if err == nil {
			return store, nil
		}
		p.Logger.Warn("ClickHouse does not answer yet; trying again", "addr", p.Config.ClickHouse.Addr, "in", backoff, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waited %s for ClickHouse)", err, wait)
		case <-time.After(backoff):
		}
	}
}
