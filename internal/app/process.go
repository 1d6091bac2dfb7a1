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
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	p.Store, err = clickhouse.Open(openCtx, cfg.ClickHouse)
	cancel()
	if err != nil {
		return err
	}
	defer p.Store.Close()
	return fn(ctx, p)
}
